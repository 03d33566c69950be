"""One MLflow store for every way of running, concurrent writers that lose nothing, and a
store that fails, failing fast: no server at the URI, or a file that is not a database, stops
the stage before any work."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import mlflow
import pytest

from gan.layout import project_root
from gan.store import retry_locked, tracking_uri
from tests.conftest import REPO
from tests.mlflow_server import free_port
from tests.train_runs import store_env, train_cmd, write_params

WORKER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from gan.tracking import start_run
    root, k, steps = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    with start_run("concurrency", f"worker{k}", {"worker": str(k)}, root=root) as tracker:
        tracker.log_params({"k": k})
        for step in range(steps):
            tracker.log_metrics({f"m{j}": step + j for j in range(5)}, step=step)
""")


def test_concurrent_writers_into_a_fresh_store_lose_nothing(tmp_path, monkeypatch):
    """Six processes create, migrate and write one new SQLite store at the same time (before
    the store lock they failed in MLflow's migrations: 'table ... already exists')."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    n, steps = 6, 40
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path), str(k), str(steps)],
                              stderr=subprocess.PIPE, text=True) for k in range(n)]
    errors = [p.communicate()[1] for p in procs if p.wait() != 0]
    assert not errors, errors[0]
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("concurrency").experiment_id])
    assert sorted(r.info.run_name for r in runs) == [f"worker{k}" for k in range(n)]
    for run in runs:
        assert run.info.status == "FINISHED"
        for j in range(5):
            history = client.get_metric_history(run.info.run_id, f"m{j}")
            assert sorted(m.step for m in history) == list(range(steps))


def test_root_inside_dvc_temporary_copies(tmp_path, monkeypatch):
    monkeypatch.delenv("DVC_ROOT", raising=False)
    copy = tmp_path / "repo/.dvc/tmp/exps/standalone/tmpab12cd"
    copy.mkdir(parents=True)
    assert project_root(copy) == tmp_path / "repo"
    assert project_root(tmp_path) == tmp_path
    monkeypatch.setenv("DVC_ROOT", str(tmp_path / "user-repo"))  # what DVC sets for its runs
    assert project_root(copy) == tmp_path / "user-repo"
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking_uri() == f"sqlite:///{tmp_path / 'user-repo' / 'mlflow.db'}"


def test_locked_database_is_retried_other_errors_are_not():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("(sqlite3.OperationalError) database is locked")
        return "ok"

    assert retry_locked(flaky) == "ok" and len(calls) == 3
    with pytest.raises(ValueError, match="other"):
        retry_locked(lambda: (_ for _ in ()).throw(ValueError("other")))


def run_train(tmp_path, prepared, uri: str, timeout: float = 90) -> subprocess.CompletedProcess:
    params, out = write_params(tmp_path, "cpu"), tmp_path / "out"
    return subprocess.run(train_cmd(prepared, out, params, track=True), cwd=REPO,
                          env=store_env(uri), capture_output=True, text=True, timeout=timeout)


def test_no_server_at_the_uri_stops_the_stage_before_any_work(tmp_path, prepared):
    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    proc = run_train(tmp_path, prepared, uri)
    assert proc.returncode == 2
    (line,) = [ln for ln in proc.stderr.splitlines() if "ERROR" in ln]
    assert f"tracking store {uri}: no MLflow tracking server answers there" in line
    assert "make mlflow-server" in line and "--no-track" in line
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_a_store_file_that_is_not_a_database_stops_the_stage(tmp_path, prepared):
    db = tmp_path / "notes.db"
    db.write_text("these are my notes, not a database\n" * 100)
    proc = run_train(tmp_path, prepared, f"sqlite:///{db}")
    assert proc.returncode == 2
    assert f"{db} is not an SQLite database (file is not a database)" in proc.stderr
    assert "move the file aside" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
    assert db.read_text().startswith("these are my notes")  # untouched
