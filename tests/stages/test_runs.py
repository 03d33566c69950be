"""`gan runs`: RUNNING runs whose heartbeat stopped are listed, and marked KILLED on request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import mlflow

from gan.stages import runs
from tests.conftest import REPO


def test_stale_runs_are_listed_and_marked_killed(tmp_path, monkeypatch, capsys):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    client = mlflow.MlflowClient(uri)
    exp = client.create_experiment("fashion-gan")
    now = datetime.now(UTC)
    old, fresh = (now - timedelta(hours=2)).isoformat(), (now - timedelta(minutes=1)).isoformat()
    start_ms = int((now - timedelta(hours=3)).timestamp() * 1000)
    made = {}
    for name, beat, status in (("dead", old, None), ("alive", fresh, None),
                               ("done", old, "FINISHED"), ("never beat", None, None)):
        r = client.create_run(exp, run_name=name, start_time=start_ms)
        if beat:
            client.set_tag(r.info.run_id, "heartbeat", beat)
        if status:
            client.set_terminated(r.info.run_id, status)
        made[name] = r.info.run_id
    params = REPO / "params.yaml"
    runs.run("30m", params=params)
    listed = capsys.readouterr().out
    assert "2 RUNNING run(s)" in listed
    assert made["dead"] in listed and made["never beat"] in listed
    assert made["alive"] not in listed and made["done"] not in listed
    assert client.get_run(made["dead"]).info.status == "RUNNING"  # listing changes nothing
    runs.run("30m", mark_killed=True, params=params)
    status = {n: client.get_run(i).info.status for n, i in made.items()}
    assert status == {"dead": "KILLED", "never beat": "KILLED", "alive": "RUNNING",
                      "done": "FINISHED"}
    runs.run("30m", params=params)
    assert "0 RUNNING run(s)" in capsys.readouterr().out
