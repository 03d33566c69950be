"""MLflow runs as the stages make them: into the project's store with tags, params and steps;
no run left RUNNING (each ends FINISHED, FAILED or KILLED by what ended it); a server lost
mid-run keeps the training, and a rerun completes the run; a child run replaces its earlier
sibling."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta

import mlflow
import pytest
import torch

from gan.config import Params
from gan.errors import Terminated
from gan.tracked_data import data_used
from gan.tracking import flatten, run_tags, start_run
from tests.conftest import REPO
from tests.mlflow_server import free_port, mlflow_server
from tests.train_runs import EPOCHS, kill_after_epoch, store_env, train_cmd, write_params


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


def only_run(uri: str):
    client = mlflow.MlflowClient(uri)
    (found,) = client.search_runs([client.get_experiment_by_name("fashion-gan").experiment_id])
    return client, found


@pytest.mark.parametrize("raised, status", [(None, "FINISHED"), (ValueError, "FAILED"),
                                            (KeyboardInterrupt, "KILLED"),
                                            (Terminated, "KILLED")])
def test_a_run_ends_with_the_status_of_what_ended_it(tmp_path, monkeypatch, raised, status):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    try:
        with start_run("fashion-gan", "r", {}) as tracker:
            tracker.log_metrics({"x": 1.0}, step=1)
            if raised:
                raise raised("stop")
    except (Exception, KeyboardInterrupt, Terminated) as exc:
        assert type(exc) is raised
    client, found = only_run(uri)
    assert found.info.status == status
    assert datetime.fromisoformat(found.data.tags["heartbeat"]) > datetime.now(UTC) - \
        timedelta(minutes=1)


def test_sigterm_marks_the_training_run_killed_and_a_resume_finishes_it(tmp_path, prepared):
    """What Slurm sends at a time limit: the stage exits 143 with one line, its MLflow run is
    KILLED, nothing half-written; the rerun resumes into the same run and ends it FINISHED."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    params, out = write_params(tmp_path, "cpu"), tmp_path / "out"
    cmd, env = train_cmd(prepared, out, params, track=True), store_env(uri)
    reached = kill_after_epoch(cmd, out / "state/last.pt", 2, env=env, sig=signal.SIGTERM,
                               stderr=tmp_path / "stderr.txt")
    assert 2 <= reached < EPOCHS, "training finished before it could be stopped"
    assert kill_after_epoch.returncode == 128 + signal.SIGTERM
    err = (tmp_path / "stderr.txt").read_text()
    assert "stopped by SIGTERM; an open MLflow run is marked KILLED" in err
    assert "Traceback" not in err
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    client, killed = only_run(uri)
    assert killed.info.status == "KILLED"
    resumed = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    client, finished = only_run(uri)
    assert finished.info.run_id == killed.info.run_id and finished.info.status == "FINISHED"
    steps = [m.step for m in client.get_metric_history(finished.info.run_id, "g_loss")]
    assert sorted(steps) == list(range(1, EPOCHS + 1))


@pytest.mark.slow
def test_a_server_lost_mid_run_keeps_the_training_and_the_rerun_completes_the_run(
        tmp_path, prepared):
    """The server dies after epoch 2 is logged: the stage stops at the next epoch with one line
    (what is kept, what to do), its checkpoint one epoch behind; with the server back, the rerun
    resumes there into the same MLflow run, which ends FINISHED with every epoch logged once."""
    params, out, port = write_params(tmp_path, "cpu"), tmp_path / "out", free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    with mlflow_server(tmp_path, env, port) as uri:
        cmd = train_cmd(prepared, out, params, track=True)
        # Few retries: the test's server does not come back by itself.
        run_env = store_env(uri) | {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
                                    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}
        proc = subprocess.Popen(cmd, cwd=REPO, env=run_env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            csv = out / "dcgan.csv"  # written after the epoch's metrics are logged
            if csv.is_file() and len(csv.read_text().splitlines()) >= 3:
                break
            time.sleep(0.05)
    err = proc.communicate(timeout=120)[1]  # the server is gone now
    assert proc.returncode == 2, err
    assert "Traceback" not in err
    (line,) = [ln for ln in err.splitlines() if "training stopped before checkpointing" in ln]
    lost = int(line.split("checkpointing epoch ")[1].split(":")[0])
    assert 3 <= lost < EPOCHS and f"resumes after epoch {lost - 1}" in line and uri in line
    assert torch.load(out / "state/last.pt", weights_only=True)["extra"]["epoch"] == lost - 1
    with mlflow_server(tmp_path, env, port) as uri:
        rerun = subprocess.run(cmd, cwd=REPO, env=store_env(uri), capture_output=True,
                               text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr
        assert f"resuming after epoch {lost - 1} of {EPOCHS}" in rerun.stderr
        client, finished = only_run(uri)
        assert finished.info.status == "FINISHED"
        steps = [m.step for m in client.get_metric_history(finished.info.run_id, "g_loss")]
        assert sorted(steps) == list(range(1, EPOCHS + 1))


def test_a_child_run_replaces_its_earlier_sibling_and_a_reopened_run_keeps_its_end(
        tmp_path, monkeypatch):
    """What `evaluate` and `sample` do to a finished training run: a second evaluation child
    deletes the first (not another DVC experiment's), adding artifacts keeps the end time."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    with start_run("fashion-gan", "t", {"stage": "train"}) as train:
        pass
    client = mlflow.MlflowClient(uri)
    ended = client.get_run(train.run_id).info.end_time
    children = []
    for exp in (None, None, "other-exp"):
        if exp:
            monkeypatch.setenv("DVC_EXP_NAME", exp)
        with start_run("fashion-gan", "t evaluation", run_tags("evaluate"),
                       parent_run_id=train.run_id) as ev:
            ev.log_metrics({"fid_snapshot": 1.0}, step=1)
        children.append(ev.run_id)
    life = {c: client.get_run(c).info.lifecycle_stage for c in children}
    assert [life[c] for c in children] == ["deleted", "active", "active"]
    time.sleep(0.01)
    with start_run("fashion-gan", "t", {}, run_id=train.run_id, keep_end_time=True) as again:
        again.log_metrics({"late": 1.0})
    info = client.get_run(train.run_id).info
    assert info.status == "FINISHED" and info.end_time == ended


def test_a_run_logs_its_data_its_system_metrics_and_the_training_view(tmp_path, monkeypatch):
    """The Dataset column (name, the artifact's digest, context, profile), MLflow's system
    metrics while the run is open, and the experiment kind that opens the training view."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    artifact = tmp_path / "prepared.pt"
    artifact.write_bytes(b"images")
    with start_run("fashion-gan", "r", {}, system_metrics_s=0.2) as tracker:
        tracker.log_inputs([data_used(artifact, "train", 2000, 3, "training")])
        time.sleep(1.0)
    client, found = only_run(uri)
    (used,) = found.inputs.dataset_inputs
    assert used.dataset.name == "stacked-fashion-mnist-x3-train"
    assert used.dataset.digest == hashlib.md5(b"images").hexdigest()
    assert {t.key: t.value for t in used.tags} == {"mlflow.data.context": "training"}
    assert json.loads(used.dataset.profile) | {"n_images": 2000, "stacked": True,
                                               "modes": 1000} == json.loads(used.dataset.profile)
    assert "system/cpu_utilization_percentage" in found.data.metrics
    assert "system/system_memory_usage_megabytes" in found.data.metrics
    experiment = client.get_experiment_by_name("fashion-gan")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"


def test_system_metrics_are_off_when_asked(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "true")  # ours wins
    with start_run("fashion-gan", "r", {}, system_metrics_s=Params().mlflow.model_copy(
            update={"system_metrics_s": 0}).system_metrics):
        time.sleep(0.5)
    _, found = only_run(uri)
    assert not [k for k in found.data.metrics if k.startswith("system/")]


def test_a_dvc_experiment_is_one_tree_of_runs(tmp_path, monkeypatch):
    """Inside DVC experiment `exp-a`: the classifier, two trainings and the report are children
    of one parent run named `exp-a` (an evaluation stays its training's child); a stage run
    again replaces its own earlier run only; another experiment gets its own parent, FAILED
    when a stage of it fails; the parent's Duration reaches its last child's end."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("DVC_EXP_NAME", "exp-a")
    ids = {}
    for name, tags in [("classifier", {"stage": "train_classifier"}),
                       ("dcgan seed0", {"stage": "train", "variant": "dcgan", "seed": "0"}),
                       ("dcgan seed1", {"stage": "train", "variant": "dcgan", "seed": "1"}),
                       ("classifier", {"stage": "train_classifier"}),  # run again
                       ("report", {"stage": "report"})]:
        with start_run("fashion-gan", name, tags) as tracker:
            ids[name] = tracker.run_id
    with start_run("fashion-gan", "dcgan seed0 evaluation", {"stage": "evaluate"},
                   parent_run_id=ids["dcgan seed0"]) as tracker:
        evaluation = tracker.run_id
    monkeypatch.setenv("DVC_EXP_NAME", "exp-b")
    with start_run("fashion-gan", "classifier", {"stage": "train_classifier"}) as tracker:
        other = tracker.run_id
    with pytest.raises(ValueError), start_run("fashion-gan", "report", {"stage": "report"}):
        raise ValueError("a stage of exp-b fails")
    client = mlflow.MlflowClient(uri)
    experiment = client.get_experiment_by_name("fashion-gan").experiment_id
    live = client.search_runs([experiment])
    parents = {r.info.run_name: r for r in live if r.data.tags.get("experiment_run")}
    assert set(parents) == {"exp-a", "exp-b"}
    parent_of = {r.info.run_id: r.data.tags.get("mlflow.parentRunId") for r in live}
    a = parents["exp-a"].info
    assert sorted(k for k, v in parent_of.items() if v == a.run_id) == sorted(
        ids.values())  # the classifier's earlier run was replaced
    assert parent_of[evaluation] == ids["dcgan seed0"]
    assert parent_of[other] == parents["exp-b"].info.run_id
    assert a.status == "FINISHED" and parents["exp-b"].info.status == "FAILED"
    assert a.end_time >= client.get_run(evaluation).info.end_time
