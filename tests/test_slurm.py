"""`gan queue --slurm` on a real one-node Slurm cluster (`.ci/slurm-up` starts it): a grid of
three tiny experiments as one job array, one made to fail; the two good ones come back through
`dvc exp pull`, every run in a real MLflow tracking server, the bad one FAILED in both."""

from __future__ import annotations

import re
import shutil
import subprocess

import mlflow
import pytest

from tests.mlflow_server import mlflow_server
from tests.pipeline_copy import SMALL, copy_repo, merge, pipeline_env, run


def slurm_up() -> bool:
    if shutil.which("sbatch") is None:
        return False
    proc = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True)
    return proc.returncode == 0 and bool(re.search(r"^(idle|mix|alloc)", proc.stdout, re.M))


pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not slurm_up(), reason="no Slurm cluster here: install slurmctld, slurmd, slurm-client and "
    "munge, then run .ci/slurm-up as root (.ci/run does both)")]


def array_states(job: str) -> dict[int, str]:
    """Array task index -> JobState, from `scontrol show job` (sacct needs slurmdbd, which
    the one-node test cluster does not run)."""
    out = subprocess.run(["scontrol", "-o", "show", "job", job], capture_output=True,
                         text=True, check=True).stdout
    return {int(m.group(1)): m.group(2) for m in
            re.finditer(r"ArrayTaskId=(\d+) .*?JobState=(\w+)", out)}


def test_a_grid_runs_as_a_slurm_array_and_comes_back_through_the_remotes(tmp_path, mirror_dir):
    env = pipeline_env(mirror_dir)
    with mlflow_server(tmp_path / "server", env) as uri:
        env |= {"MLFLOW_TRACKING_URI": uri, "GAN_SCRATCH": str(tmp_path / "scratch")}
        origin, dvc_remote = tmp_path / "origin.git", tmp_path / "dvc-remote"
        run(["git", "init", "-q", "--bare", str(origin)], tmp_path, env)
        repo = copy_repo(tmp_path / "repo", env, merge(SMALL, {"seeds": [0]}),
                         variants=("dcgan",))
        # What a task needs is checked before anything is submitted, one line each.
        refusals = []

        def refused(expected: str, task_env: dict = env) -> None:
            proc = run(["gan", "queue", "lr_d=1e-4", "--slurm"], repo, task_env, check=False)
            assert proc.returncode == 2 and expected in proc.stderr, proc.stderr
            assert "Traceback" not in proc.stderr
            refusals.append(expected)

        params = (repo / "params.yaml").read_text()
        (repo / "params.yaml").write_text(params + "\n# an edit\n")
        refused("the working tree has uncommitted changes")
        run(["git", "checkout", "params.yaml"], repo, env)
        refused("no git remote 'origin'")
        run(["git", "remote", "add", "origin", str(origin)], repo, env)
        refused("is not on origin; push it")
        run(["git", "push", "-q", "origin", "main"], repo, env)
        refused("no default DVC remote")
        run(["dvc", "remote", "add", "-d", "shared", str(dvc_remote)], repo, env)
        run(["git", "commit", "-qam", "shared DVC remote"], repo, env)
        run(["git", "push", "-q", "origin", "main"], repo, env)
        no_server = {k: v for k, v in env.items() if k != "MLFLOW_TRACKING_URI"}
        refused("SQLite on a shared filesystem loses or corrupts runs", no_server)
        assert len(refusals) == 5 and not (repo / ".dvc/tmp/gan-slurm").exists()

        proc = run(["gan", "queue", "lr_d=1e30,1.5e-4,2.5e-4", "--slurm", "--wait"], repo, env,
                   check=False)
        assert proc.returncode == 1, proc.stderr  # one task failed
        (job, prefix) = re.search(r"submitted job array (\d+) \((slurm-[\d-]+)\)",
                                  proc.stderr).groups()
        assert array_states(job) == {0: "FAILED", 1: "COMPLETED", 2: "COMPLETED"}
        log0 = (repo / f".dvc/tmp/gan-slurm/{prefix}-0.out").read_text()
        assert "non-finite loss" in log0

        pushed = run(["dvc", "exp", "list", "origin", "--name-only"], repo, env).stdout.split()
        assert sorted(pushed) == [f"{prefix}-1", f"{prefix}-2"]
        for name in pushed:
            run(["dvc", "exp", "pull", "origin", name], repo, env)
        shown = run(["dvc", "exp", "show", "--json"], repo, env).stdout
        assert f"{prefix}-1" in shown and f"{prefix}-2" in shown

        client = mlflow.MlflowClient(uri)
        exp = client.get_experiment_by_name("fashion-gan")
        status: dict[str, set[str]] = {}
        for r in client.search_runs([exp.experiment_id]):
            status.setdefault(r.data.tags.get("dvc_exp_name"), set()).add(r.info.status)
        assert status[f"{prefix}-1"] == status[f"{prefix}-2"] == {"FINISHED"}
        assert "FAILED" in status[f"{prefix}-0"] and "RUNNING" not in status[f"{prefix}-0"]
        assert not list((tmp_path / "scratch").iterdir())  # each task cleans its clone
