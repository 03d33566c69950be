"""Experiment tracking: a run's life in MLflow behind a small interface (start, reopen, child
runs, heartbeat, end), and a null tracker for tests and `--no-track`. Where runs go and how
concurrent writers share the store: `gan.store`.

No run is left RUNNING, whatever ends the stage:

- The body returns: FINISHED. It raises: FAILED. SIGINT (Ctrl-C, `dvc queue kill`) or SIGTERM
  (Slurm's time limit, `kill`): KILLED, then the stage exits 130 or 143.
- The store stops answering (after MLflow's own retries): TrackingUnavailable; one quick
  try marks the run FAILED, and a run that cannot be marked is left to the sweep below.
- SIGKILL or a lost node end nothing: every open run beats a `heartbeat` tag (UTC, ISO 8601)
  every GAN_HEARTBEAT_S seconds (60), and `gan runs --stale-after AGE` finds RUNNING runs whose
  last beat is older (`--mark-killed` ends them KILLED). A resumed training reopens its run,
  which is RUNNING again until it ends.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from gan.errors import Terminated
from gan.layout import project_root
from gan.store import (
    TrackingUnavailable,
    check_store,
    prepare_store,
    retry_locked,
    tracking_uri,
)

log = logging.getLogger(__name__)


class Tracker(Protocol):
    run_id: str | None

    def log_params(self, params: Mapping[str, Any]) -> None: ...
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None: ...
    def log_artifact(self, path: Path | str, artifact_path: str | None = None) -> None: ...


class NullTracker:
    """Keeps what would be logged in memory; for tests and `--no-track` runs."""

    def __init__(self) -> None:
        self.run_id: str | None = None
        self.params: dict[str, Any] = {}
        self.metrics: list[tuple[int | None, dict[str, float]]] = []
        self.artifacts: list[str] = []

    def log_params(self, params: Mapping[str, Any]) -> None:
        self.params.update(params)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        self.metrics.append((step, dict(metrics)))

    def log_artifact(self, path: Path | str, artifact_path: str | None = None) -> None:
        self.artifacts.append(str(path))


class MlflowTracker:
    """Logs to the active MLflow run; a store that stops answering (after MLflow's own
    retries) raises TrackingUnavailable."""

    def __init__(self, run_id: str, uri: str) -> None:
        self.run_id, self.uri = run_id, uri

    def log_params(self, params: Mapping[str, Any]) -> None:
        import mlflow

        with reporting_lost_store(self.uri):
            retry_locked(lambda: mlflow.log_params({k: _param_value(v)
                                                    for k, v in params.items()}))

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        import mlflow

        with reporting_lost_store(self.uri):
            retry_locked(lambda: mlflow.log_metrics({k: float(v) for k, v in metrics.items()},
                                                    step=step))

    def log_artifact(self, path: Path | str, artifact_path: str | None = None) -> None:
        import mlflow

        with reporting_lost_store(self.uri):
            retry_locked(lambda: mlflow.log_artifact(str(path), artifact_path=artifact_path))


def flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dataclasses, config models and dicts -> {"classifier.lr": 0.003, ...}."""
    data = asdict(config) if is_dataclass(config) else \
        config.model_dump() if isinstance(config, BaseModel) else config
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def run_tags(stage: str) -> dict[str, str]:
    """Tags every run carries: the stage, the git commit, and the DVC experiment if any."""
    tags = {"stage": stage, "git_commit": _git_commit()}
    tags["mlflow.source.git.commit"] = tags["git_commit"]
    if os.environ.get("DVC_EXP_NAME"):
        tags["dvc_exp_name"] = os.environ["DVC_EXP_NAME"]
    return tags


def display_name(base: str) -> str:
    """A run's name in the MLflow runs table: BASE, then the DVC experiment if any."""
    exp = os.environ.get("DVC_EXP_NAME")
    return f"{base} ({exp})" if exp else base


def check_tracking(enabled: bool = True, root: Path | None = None) -> None:
    """A stage's first step: stop with one line if its store cannot take runs (nothing is
    written before; see gan.store)."""
    if enabled:
        check_store(tracking_uri((root or project_root()).resolve()))


@contextmanager
def start_run(experiment: str, run_name: str, tags: Mapping[str, str],
              root: Path | None = None, enabled: bool = True, run_id: str | None = None,
              parent_run_id: str | None = None, keep_end_time: bool = False
              ) -> Iterator[Tracker]:
    """Open an MLflow run and yield a tracker for it; the run ends FINISHED, FAILED (the body
    raised) or KILLED (SIGINT, SIGTERM), and beats a `heartbeat` tag while it is open.

    A new run is named `display_name(run_name)`. `run_id` reopens an existing run (a resumed
    training), whatever its status was; with `keep_end_time` a FINISHED run reopened to add
    artifacts keeps its end time, so its Duration stays that of the stage that made it.
    `parent_run_id` makes the new run a child of that run (nested in the MLflow UI); when it
    succeeds, it replaces (deletes) the parent's earlier children of the same `stage` tag and
    DVC experiment, so running a stage again does not duplicate its metrics.
    With `enabled=False` nothing is written and a NullTracker is yielded.
    """
    if not enabled:
        yield NullTracker()
        return
    import mlflow

    root = (root or project_root()).resolve()
    uri = tracking_uri(root)
    mlflow.set_tracking_uri(uri)
    with reporting_lost_store(uri):
        # Artifacts beside the store, not in whatever directory the first run happened in.
        # First of all: it creates and migrates a new store under the store lock.
        prepare_store(uri, experiment, (root / "mlartifacts").as_uri())
        client = mlflow.MlflowClient(uri)
        mlflow.set_experiment(experiment)
        if run_id is not None:
            if keep_end_time:  # read before reopening sets it RUNNING
                before = retry_locked(lambda: client.get_run(run_id)).info
            run = retry_locked(lambda: mlflow.start_run(run_id=run_id))
            retry_locked(lambda: mlflow.set_tags(dict(tags)))
        else:
            child = {"mlflow.parentRunId": parent_run_id} if parent_run_id else {}
            run = retry_locked(lambda: mlflow.start_run(run_name=display_name(run_name),
                                                        tags=dict(tags) | child))
    with ending_run(uri), Heartbeat(uri, run.info.run_id):
        yield MlflowTracker(run.info.run_id, uri)
    with reporting_lost_store(uri):
        if run_id is not None and keep_end_time and before.status == "FINISHED":
            retry_locked(lambda: client.set_terminated(run_id, "FINISHED",
                                                       end_time=before.end_time))
        if parent_run_id is not None:
            for earlier in earlier_children(client, run, parent_run_id):
                retry_locked(lambda r=earlier: client.delete_run(r))


def earlier_children(client: Any, new: Any, parent_run_id: str) -> list[str]:
    """Ids of the other children of PARENT_RUN_ID with the same stage and DVC experiment tags
    as the run NEW (an experiment that reuses a cached training keeps its own evaluation)."""
    found = retry_locked(lambda: client.search_runs(
        [new.info.experiment_id], f"tags.mlflow.parentRunId = '{parent_run_id}'"))
    same = ("stage", "dvc_exp_name")
    return [r.info.run_id for r in found if r.info.run_id != new.info.run_id
            and all(r.data.tags.get(k) == new.data.tags.get(k) for k in same)]


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             check=True, timeout=10)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _param_value(value: Any) -> Any:
    return ",".join(map(str, value)) if isinstance(value, list | tuple) else value

HEARTBEAT_TAG = "heartbeat"


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextmanager
def reporting_lost_store(uri: str) -> Iterator[None]:
    """MLflow's errors from the store (after its retries) as TrackingUnavailable, one line."""
    import requests
    from mlflow.exceptions import MlflowException

    try:
        yield
    except (MlflowException, requests.RequestException, OSError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise TrackingUnavailable(f"tracking store {uri}: {first[:300]}") from exc


def end_run(status: str, quick: bool = False) -> None:
    """End the active run with STATUS; QUICK: one short try, for a store that went away."""
    import mlflow

    if quick:  # read by MLflow at each request
        os.environ.update(MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT="3")
    try:
        retry_locked(lambda: mlflow.end_run(status), seconds=5 if quick else 120)
    except Exception as exc:  # the stage's own error is the one to report
        log.warning("could not mark the MLflow run %s: %s", status, str(exc)[:200])


@contextmanager
def ending_run(uri: str) -> Iterator[None]:
    """End the active run FINISHED, FAILED or KILLED as the body ends (see the module)."""
    import mlflow

    try:
        yield
    except TrackingUnavailable:
        end_run("FAILED", quick=True)
        raise
    except (KeyboardInterrupt, Terminated):
        end_run("KILLED")
        raise
    except BaseException:
        end_run("FAILED")
        raise
    with reporting_lost_store(uri):
        retry_locked(lambda: mlflow.end_run("FINISHED"))


class Heartbeat:
    """Sets the run's `heartbeat` tag now and every GAN_HEARTBEAT_S seconds, from a thread,
    until the block ends. A beat that fails is skipped: the stage reports a lost store."""

    def __init__(self, uri: str, run_id: str) -> None:
        self.uri, self.run_id = uri, run_id
        self.every_s = float(os.environ.get("GAN_HEARTBEAT_S", "60"))
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.beat, name="mlflow-heartbeat", daemon=True)

    def beat(self) -> None:
        import mlflow

        client = mlflow.MlflowClient(self.uri)
        while True:
            try:
                retry_locked(lambda: client.set_tag(self.run_id, HEARTBEAT_TAG, utc_now()),
                             seconds=10)
            except Exception as exc:
                log.debug("heartbeat skipped: %s", exc)
            if self.stop.wait(self.every_s):
                return

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=2)
