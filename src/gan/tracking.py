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

Inside a DVC experiment every run hangs under the experiment's parent run (gan.run_tree).
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from gan.errors import Terminated
from gan.layout import project_root
from gan.run_life import Heartbeat, ending_run, reporting_lost_store
from gan.run_tree import experiment_parent, extend_parent
from gan.store import (
    TrackingUnavailable,
    check_store,
    prepare_store,
    retry_locked,
    tracking_uri,
)
from gan.tracked_data import DataUsed

log = logging.getLogger(__name__)
T = TypeVar("T")


class Tracker(Protocol):
    run_id: str | None
    experiment_run_id: str | None  # the DVC experiment's parent run (gan.run_tree)

    def log_params(self, params: Mapping[str, Any]) -> None: ...
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None,
                    model_id: str | None = None) -> None: ...
    def log_artifact(self, path: Path | str, artifact_path: str | None = None) -> None: ...
    def log_inputs(self, used: list[DataUsed]) -> None: ...
    def call(self, fn: Callable[..., T], *args: Any) -> T | None: ...


class NullTracker:
    """Keeps what would be logged in memory; for tests and `--no-track` runs."""

    def __init__(self) -> None:
        self.run_id: str | None = None
        self.experiment_run_id: str | None = None
        self.params: dict[str, Any] = {}
        self.metrics: list[tuple[int | None, dict[str, float]]] = []
        self.artifacts: list[str] = []
        self.inputs: list[DataUsed] = []

    def log_params(self, params: Mapping[str, Any]) -> None:
        self.params.update(params)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None,
                    model_id: str | None = None) -> None:
        self.metrics.append((step, dict(metrics)))

    def log_artifact(self, path: Path | str, artifact_path: str | None = None) -> None:
        self.artifacts.append(str(path))

    def log_inputs(self, used: list[DataUsed]) -> None:
        self.inputs.extend(used)

    def call(self, fn: Callable[..., T], *args: Any) -> T | None:
        return None  # nothing is tracked: no model to log, find or register


class MlflowTracker:
    """Logs to the active MLflow run; a store that stops answering (after MLflow's own
    retries) raises TrackingUnavailable."""

    def __init__(self, run_id: str, uri: str, experiment_run_id: str | None = None) -> None:
        self.run_id, self.uri, self.experiment_run_id = run_id, uri, experiment_run_id

    def log_params(self, params: Mapping[str, Any]) -> None:
        import mlflow

        with reporting_lost_store(self.uri):
            retry_locked(lambda: mlflow.log_params({k: _param_value(v)
                                                    for k, v in params.items()}))

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None,
                    model_id: str | None = None) -> None:
        """MODEL_ID: the metrics are also the model's (the Models tab ranks by them)."""
        import mlflow

        with reporting_lost_store(self.uri):
            retry_locked(lambda: mlflow.log_metrics({k: float(v) for k, v in metrics.items()},
                                                    step=step, model_id=model_id))

    def log_artifact(self, path: Path | str, artifact_path: str | None = None) -> None:
        import mlflow

        with reporting_lost_store(self.uri):
            retry_locked(lambda: mlflow.log_artifact(str(path), artifact_path=artifact_path))

    def log_inputs(self, used: list[DataUsed]) -> None:
        import mlflow

        client = mlflow.MlflowClient(self.uri)
        with reporting_lost_store(self.uri):
            retry_locked(lambda: client.log_inputs(self.run_id, [u.entity() for u in used]))

    def call(self, fn: Callable[..., T], *args: Any) -> T | None:
        """fn(*args), a function of MLflow's API on this run's store (logging, finding or
        registering a model: gan.logged_model, gan.model_registry); a lost store raises
        TrackingUnavailable."""
        with reporting_lost_store(self.uri):
            return retry_locked(lambda: fn(*args))


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
              parent_run_id: str | None = None, keep_end_time: bool = False,
              system_metrics_s: float | None = None
              ) -> Iterator[Tracker]:
    """Open an MLflow run and yield a tracker for it; the run ends FINISHED, FAILED (the body
    raised) or KILLED (SIGINT, SIGTERM), and beats a `heartbeat` tag while it is open.

    A new run is named `display_name(run_name)`. `run_id` reopens an existing run (a resumed
    training), whatever its status was; with `keep_end_time` a FINISHED run reopened to add
    artifacts keeps its end time, so its Duration stays that of the stage that made it.
    `parent_run_id` makes the new run a child of that run (nested in the MLflow UI); when it
    succeeds, it replaces (deletes) the parent's earlier children of the same `stage` tag and
    DVC experiment, so running a stage again does not duplicate its metrics.
    `system_metrics_s` samples MLflow's system metrics (CPU, memory, disk, network; GPU where
    nvidia-ml-py finds one) every so many seconds while the run is open (None: none).
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
        experiment_id = mlflow.set_experiment(experiment).experiment_id
        # Inside a DVC experiment every run belongs to its tree (gan.run_tree).
        tree = retry_locked(lambda: experiment_parent(client, experiment_id, dict(tags)))
        if run_id is None and parent_run_id is None:
            parent_run_id = tree
        if system_metrics_s is not None:
            mlflow.set_system_metrics_sampling_interval(system_metrics_s)
            # Its start/stop/no-GPU lines at INFO would repeat in every stage's log.
            logging.getLogger("mlflow.system_metrics").setLevel(logging.WARNING)
        monitor = system_metrics_s is not None
        if run_id is not None:
            if keep_end_time:  # read before reopening sets it RUNNING
                before = retry_locked(lambda: client.get_run(run_id)).info
            run = retry_locked(lambda: mlflow.start_run(run_id=run_id,
                                                        log_system_metrics=monitor))
            retry_locked(lambda: mlflow.set_tags(dict(tags)))
        else:
            child = {"mlflow.parentRunId": parent_run_id} if parent_run_id else {}
            run = retry_locked(lambda: mlflow.start_run(run_name=display_name(run_name),
                                                        tags=dict(tags) | child,
                                                        log_system_metrics=monitor))
    try:
        with ending_run(uri), Heartbeat(uri, run.info.run_id):
            yield MlflowTracker(run.info.run_id, uri, tree)
    except BaseException as exc:  # the experiment's parent shows that a stage of it failed
        if tree is not None and not isinstance(exc, TrackingUnavailable):
            stopped = isinstance(exc, KeyboardInterrupt | Terminated)
            try:
                extend_parent(client, tree, "KILLED" if stopped else "FAILED")
            except Exception as err:  # the stage's own error is the one to report
                log.warning("could not mark the experiment's run: %s", str(err)[:200])
        raise
    with reporting_lost_store(uri):
        if run_id is not None and keep_end_time and before.status == "FINISHED":
            retry_locked(lambda: client.set_terminated(run_id, "FINISHED",
                                                       end_time=before.end_time))
        if parent_run_id is not None and run_id is None:
            for earlier in earlier_children(client, run, parent_run_id):
                retry_locked(lambda r=earlier: client.delete_run(r))
        if tree is not None:
            retry_locked(lambda: extend_parent(client, tree))


def earlier_children(client: Any, new: Any, parent_run_id: str) -> list[str]:
    """Ids of the other children of PARENT_RUN_ID with the same stage, DVC experiment,
    variant and seed tags as the run NEW (an experiment that reuses a cached training keeps its
    own evaluation; an experiment's parent keeps one run per stage, variant and seed)."""
    found = retry_locked(lambda: client.search_runs(
        [new.info.experiment_id], f"tags.mlflow.parentRunId = '{parent_run_id}'"))
    same = ("stage", "dvc_exp_name", "variant", "seed")
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
