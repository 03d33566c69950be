import subprocess

import mlflow

from gan.config import Params
from gan.tracking import flatten, run_tags, start_run
from tests.conftest import REPO


def test_run_lands_in_sqlite_store_with_tags_params_and_steps(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("DVC_EXP_NAME", "exp-test")
    with start_run("unit", "classifier", run_tags("train_classifier"), root=tmp_path) as tracker:
        tracker.log_params(flatten(Params()))
        for step in (1, 2):
            tracker.log_metrics({"val_accuracy": 0.5 + step / 10}, step=step)
    assert (tmp_path / "mlflow.db").is_file()
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    run = client.get_run(tracker.run_id)
    assert run.data.tags["stage"] == "train_classifier"
    assert run.data.tags["dvc_exp_name"] == "exp-test"
    assert run.info.run_name == "classifier (exp-test)"  # tells experiments apart in the table
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                          text=True, check=True).stdout.strip()
    assert run.data.tags["git_commit"] == head  # tests run in the repository's git checkout
    assert run.data.params["classifier.lr"] == "0.003"
    assert run.data.params["data.mirrors"].startswith("http")
    history = client.get_metric_history(run.info.run_id, "val_accuracy")
    assert [m.step for m in history] == [1, 2]


def test_env_uri_overrides_default(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    with start_run("unit", "r", {}, root=tmp_path):
        pass
    assert (tmp_path / "elsewhere.db").is_file() and not (tmp_path / "mlflow.db").exists()


def test_disabled_run_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with start_run("unit", "r", {}, root=tmp_path, enabled=False) as tracker:
        tracker.log_metrics({"a": 1.0})
    assert tracker.metrics == [(None, {"a": 1.0})]
    assert not (tmp_path / "mlflow.db").exists()


def test_commit_is_unknown_outside_a_git_repository(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert run_tags("x")["git_commit"] == "unknown"
