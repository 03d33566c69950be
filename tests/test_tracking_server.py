"""The several-machines recipe: two clones ("machines") run experiments against one MLflow
tracking server (`make mlflow-server`) and share them through a git remote and a DVC remote."""

from __future__ import annotations

import mlflow
import pytest

from gan.layout import RunPaths
from tests.mlflow_server import mlflow_server
from tests.pipeline_copy import SMALL, copy_repo, merge, pipeline_env, run

pytestmark = pytest.mark.slow



@pytest.fixture
def server(tmp_path, mirror_dir):
    """`make mlflow-server` on a free local port, with its store under tmp_path."""
    with mlflow_server(tmp_path, pipeline_env(mirror_dir)) as uri:
        yield uri


def test_two_machines_one_tracking_server_shared_experiments(tmp_path, mirror_dir, server):
    env = pipeline_env(mirror_dir) | {"MLFLOW_TRACKING_URI": server}
    origin, dvc_remote = tmp_path / "origin.git", tmp_path / "dvc-remote"
    run(["git", "init", "-q", "--bare", str(origin)], tmp_path, env)
    # One variant, one seed: short.
    a = copy_repo(tmp_path / "machine-a", env, merge(SMALL, {"seeds": [0]}), variants=("dcgan",))
    run(["dvc", "remote", "add", "-d", "shared", str(dvc_remote)], a, env)
    for cmd in (["git", "commit", "-qam", "shared DVC remote"],
                ["git", "remote", "add", "origin", str(origin)],
                ["git", "push", "-q", "origin", "main"]):
        run(cmd, a, env)
    b = tmp_path / "machine-b"
    run(["git", "clone", "-q", "-b", "main", str(origin), str(b)], tmp_path, env)

    for machine, name, seed in ((a, "exp-machine-a", "1"), (b, "exp-machine-b", "2")):
        run(["dvc", "exp", "run", "--name", name, "-S", f"seed={seed}"], machine, env)
        run(["dvc", "exp", "push", "origin", name], machine, env)

    client = mlflow.MlflowClient(server)
    experiment = client.get_experiment_by_name("fashion-gan")
    runs = client.search_runs([experiment.experiment_id])
    by_exp = {}
    for r in runs:
        by_exp.setdefault(r.data.tags.get("dvc_exp_name"), set()).add(r.info.run_name)
    for name in ("exp-machine-a", "exp-machine-b"):
        expected = {f"{run} ({name})" for run in ("classifier", "dcgan seed0", "report")}
        assert expected <= by_exp.get(name, set()), by_exp
    assert not (a / "mlflow.db").exists() and not (b / "mlflow.db").exists()

    run(["dvc", "exp", "pull", "origin", "exp-machine-b"], a, env)
    shown = run(["dvc", "exp", "show", "--json"], a, env).stdout
    assert "exp-machine-a" in shown and "exp-machine-b" in shown
    run(["dvc", "exp", "apply", "exp-machine-b"], a, env)  # its outputs came from the remote
    assert (a / RunPaths("dcgan", 0).model).is_file()
