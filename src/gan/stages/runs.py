"""`gan runs`: the MLflow runs a dead process left RUNNING (SIGKILL, a lost node), found by
their heartbeat (see gan.tracking), listed and, with --mark-killed, ended KILLED. A command
beside the stages, not a DVC stage."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gan.config import ConfigError, load_params
from gan.layout import project_root
from gan.run_life import HEARTBEAT_TAG, utc_now
from gan.store import check_store, retry_locked, tracking_uri

log = logging.getLogger(__name__)

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_age(text: str) -> float:
    """"90s", "15m", "2h", "1d" -> seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd])", text.strip())
    if not match:
        raise ConfigError(f"--stale-after {text!r}: expected a number and a unit (s, m, h, d), "
                          "for example 15m or 2h")
    return float(match.group(1)) * UNITS[match.group(2)]


def last_sign_of_life(run: Any) -> datetime:
    """The run's last heartbeat, or its start for a run that never beat."""
    beat = run.data.tags.get(HEARTBEAT_TAG)
    if beat:
        return datetime.fromisoformat(beat)
    return datetime.fromtimestamp(run.info.start_time / 1000, UTC)


def stale_runs(client: Any, experiment_id: str, older_than_s: float,
               now: datetime | None = None) -> list[tuple[Any, float]]:
    """(run, seconds since its last sign of life) of the experiment's RUNNING runs whose last
    sign of life is older than OLDER_THAN_S, oldest first."""
    now = now or datetime.now(UTC)
    running = client.search_runs([experiment_id], "attributes.status = 'RUNNING'",
                                 max_results=50000)
    aged = [(r, (now - last_sign_of_life(r)).total_seconds()) for r in running]
    return sorted(((r, age) for r, age in aged if age > older_than_s), key=lambda x: -x[1])


def run(stale_after: str = "15m", mark_killed: bool = False,
        params: Path = Path("params.yaml")) -> None:
    """List the RUNNING runs of the params' MLflow experiment whose heartbeat is older than
    STALE_AFTER (15m: training beats every GAN_HEARTBEAT_S = 60 s), that is runs whose process
    died without ending them; with --mark-killed, end them KILLED (a resumed training reopens
    its run, which then finishes)."""
    import mlflow

    older_than_s = parse_age(stale_after)
    experiment = load_params(params).mlflow.experiment
    uri = tracking_uri(project_root())
    check_store(uri)
    client = mlflow.MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    stale = stale_runs(client, found.experiment_id, older_than_s) if found else []
    print(f"{len(stale)} RUNNING run(s) of experiment {experiment!r} at {uri} silent for more "
          f"than {stale_after}" + (":" if stale else ""))
    for r, age in stale:
        print(f"  {r.info.run_id}  {r.info.run_name}  last sign of life "
              f"{last_sign_of_life(r).isoformat(timespec='seconds')} ({age / 60:.0f} min ago)")
        if mark_killed:
            retry_locked(lambda r=r: client.set_tag(r.info.run_id, "killed_by",
                                                    f"gan runs --mark-killed at {utc_now()}"))
            retry_locked(lambda r=r: client.set_terminated(r.info.run_id, "KILLED"))
    if stale and mark_killed:
        print(f"marked {len(stale)} run(s) KILLED")
    elif stale:
        print("run again with --mark-killed to end them KILLED")
