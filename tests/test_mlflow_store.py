"""One MLflow store for every way of running, and concurrent writers that lose nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import mlflow
import pytest

from gan.mlflow_store import project_root, retry_locked, tracking_uri

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
