"""`gan queue --slurm` on a real one-node Slurm cluster (`.ci/slurm-up` starts it).

One grid of tiny experiments as a job array capped at two running tasks: one point made to
fail, one uninterrupted, and the same point again requeued by `scontrol requeue` in the middle
of its training; beside it a one-task array whose time limit (2 min) ends each attempt. Both
interrupted tasks end COMPLETED after resuming from the shared checkpoint directory, with
final weights bitwise equal to the uninterrupted run's, one MLflow training run each (every
epoch logged once, FINISHED); the good experiments come back through `dvc exp pull`."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import mlflow
import pytest
import torch

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

UNFINISHED = {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "REQUEUED", "SUSPENDED"}
# Two epochs of 125 steps: time to requeue a task between them.
PARAMS = merge(SMALL, {"seeds": [0], "epochs": 2, "batch_size": 16, "eval": {"eval_every": 0}})


def task_states(job: str) -> dict[int, tuple[str, int]]:
    """Array task index -> (JobState, Restarts), from `scontrol show job` (sacct needs
    slurmdbd, which the one-node test cluster does not run)."""
    out = subprocess.run(["scontrol", "-o", "show", "job", job], capture_output=True,
                         text=True, check=True).stdout
    return {int(m.group(1)): (m.group(2), int(m.group(3))) for m in re.finditer(
        r"ArrayTaskId=(\d+) .*?JobState=(\w+) .*?Restarts=(\d+)", out)}


def hurry_requeued(stop: threading.Event) -> None:
    """A requeued task waits (BeginTime) before it may start again; an impatient admin."""
    while not stop.wait(2):
        out = subprocess.run(["squeue", "-h", "-t", "PD", "-o", "%i %r"], capture_output=True,
                             text=True).stdout
        for line in out.splitlines():
            job, reason = line.split(maxsplit=1)
            if reason == "BeginTime":
                subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"],
                               capture_output=True)


def requeue_mid_training(checkpoints: Path, job: str, index: int, name: str) -> None:
    """`scontrol requeue` task INDEX as soon as its first epoch is in the shared directory."""
    deadline = time.time() + 600
    while not list((checkpoints / name).glob("train@*/last.pt")):
        assert time.time() < deadline, "the task never checkpointed an epoch"
        time.sleep(0.1)
    subprocess.run(["scontrol", "requeue", f"{job}_{index}"], check=True)


def grid_job(other: str) -> tuple[str, str]:
    """(job id, name) of the array submitted after job OTHER, once Slurm has it."""
    deadline = time.time() + 120
    while time.time() < deadline:
        out = subprocess.run(["squeue", "-h", "-r", "-o", "%F %j"], capture_output=True,
                             text=True).stdout
        for job, name in {tuple(line.split()) for line in out.splitlines()}:
            if job != other:
                return job, name
        time.sleep(0.2)
    raise AssertionError("the grid never reached Slurm")


def submitted(stderr: str) -> tuple[str, str]:
    return re.search(r"submitted job array (\d+) \((slurm-[\d-]+)\)", stderr).groups()


def test_a_grid_runs_as_a_slurm_array_survives_requeues_and_comes_back(tmp_path, mirror_dir):
    env = pipeline_env(mirror_dir)
    checkpoints = tmp_path / "shared-checkpoints"
    with mlflow_server(tmp_path / "server", env) as uri:
        env |= {"MLFLOW_TRACKING_URI": uri, "GAN_SCRATCH": str(tmp_path / "scratch")}
        origin, dvc_remote = tmp_path / "origin.git", tmp_path / "dvc-remote"
        run(["git", "init", "-q", "--bare", str(origin)], tmp_path, env)
        repo = copy_repo(tmp_path / "repo", env, PARAMS, variants=("dcgan",))
        # What a task needs is checked before anything is submitted, one line each.
        refusals = []

        def refused(expected: str, task_env: dict = env, *more: str) -> None:
            proc = run(["gan", "queue", "lr_d=1e-4", "--slurm", *more], repo, task_env,
                       check=False)
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
        refused("no shared checkpoint directory")
        assert len(refusals) == 6 and not (repo / ".dvc/tmp/gan-slurm").exists()
        env |= {"GAN_CHECKPOINT_DIR": str(checkpoints), "OMP_NUM_THREADS": "1"}

        stop = threading.Event()
        threading.Thread(target=hurry_requeued, args=(stop,), daemon=True).start()
        try:
            # A one-task array whose every attempt meets a two-minute limit, signalled 90 s
            # before it (Slurm sends it up to 30 s early): it stops after an epoch.
            proc = run(["gan", "queue", "lr_d=1.5e-4", "--slurm", "--time", "2",
                        "--signal-before", "90"], repo, env)
            limited_job, limited = submitted(proc.stderr)
            grid = subprocess.Popen(
                ["gan", "queue", "lr_d=1e30,1.5e-4,1.5e-4", "--slurm", "--wait",
                 "--max-running", "2", "--poll-s", "1"], cwd=repo, env=env, text=True,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            job, prefix = grid_job(limited_job)
            requeue_mid_training(checkpoints, job, 2, f"{prefix}-2")
            _, stderr = grid.communicate(timeout=900)
            assert grid.returncode == 1, stderr  # one task failed
            assert submitted(stderr) == (job, prefix)
            deadline = time.time() + 900
            while task_states(limited_job)[0][0] in UNFINISHED:
                assert time.time() < deadline, task_states(limited_job)
                time.sleep(1)
        finally:
            stop.set()
        # --wait showed the tasks' states as they changed, the requeue among them.
        assert re.search(rf"job {job}: 0 pending, 0 running, 2 completed, 1 failed, 1 requeued",
                         stderr), stderr
        assert re.search(r"ArrayTaskThrottle=2", subprocess.run(
            ["scontrol", "-o", "show", "job", job], capture_output=True, text=True).stdout)
        states = task_states(job)
        assert [states[i][0] for i in range(3)] == ["FAILED", "COMPLETED", "COMPLETED"]
        assert states[1][1] == 0 and states[2][1] == 1  # the requeued task ran twice
        assert task_states(limited_job)[0][0] == "COMPLETED"
        assert task_states(limited_job)[0][1] >= 1  # the time limit ended an attempt
        logs = repo / ".dvc/tmp/gan-slurm"
        assert "non-finite loss" in (logs / f"{prefix}-0.out").read_text()
        assert re.search(r"resuming after epoch 1 of 2",
                         (logs / f"{prefix}-2.out").read_text())
        limited_log = (logs / f"{limited}-0.out").read_text()
        assert "time limit near" in limited_log and "requeueing" in limited_log

        # The grid as one table, ranked, in markdown and CSV, and on the tracking server.
        table = (repo / f"metrics/grids/{prefix}.md").read_text()
        assert re.search(rf"\| 1 \| 1.5e-4 \| dcgan \| 1 \| .* \| {prefix}-[12] \|", table)
        assert "| 3 | 1e30 | - | 0 | no finished evaluation" in table
        assert len((repo / f"metrics/grids/{prefix}.csv").read_text().splitlines()) == 4

        good = sorted([f"{prefix}-1", f"{prefix}-2", f"{limited}-0"])
        pushed = run(["dvc", "exp", "list", "origin", "--name-only"], repo, env).stdout.split()
        assert sorted(pushed) == good
        weights = {}
        for name in pushed:
            run(["dvc", "exp", "pull", "origin", name], repo, env)
            run(["dvc", "exp", "apply", name], repo, env)
            weights[name] = torch.load(repo / "data/models/dcgan/seed0.pt", weights_only=True
                                       )["models"]["generator"]["state_dict"]
        reference = weights[f"{prefix}-1"]
        for name in (f"{prefix}-2", f"{limited}-0"):  # resumed == uninterrupted, bit for bit
            assert weights[name].keys() == reference.keys()
            assert all(torch.equal(weights[name][k], reference[k]) for k in reference), name

        client = mlflow.MlflowClient(uri)
        exp = client.get_experiment_by_name("fashion-gan")
        status: dict[str, set[str]] = {}
        train_runs: dict[str, list] = {}
        for r in client.search_runs([exp.experiment_id]):
            name = r.data.tags.get("dvc_exp_name")
            status.setdefault(name, set()).add(r.info.status)
            if r.data.tags.get("stage") == "train":
                train_runs.setdefault(name, []).append(r)
        for name in good:  # one training run, every epoch once, FINISHED
            assert status[name] == {"FINISHED"}, (name, status[name])
            (train,) = train_runs[name]
            steps = [m.step for m in client.get_metric_history(train.info.run_id, "g_loss")]
            assert steps == [1, 2], (name, steps)
        assert "interrupted" in train_runs[f"{limited}-0"][0].data.tags
        (grid_run,) = client.search_runs([exp.experiment_id], f"tags.grid = '{prefix}'")
        assert {f.path for f in client.list_artifacts(grid_run.info.run_id, "grid")} == {
            f"grid/{prefix}.md", f"grid/{prefix}.csv"}
        assert "FAILED" in status[f"{prefix}-0"] and "RUNNING" not in status[f"{prefix}-0"]
        assert not list((tmp_path / "scratch").iterdir())  # each attempt cleans its clone
        assert {p.name for p in checkpoints.iterdir()} <= {f"{prefix}-0"}  # pushed: removed
