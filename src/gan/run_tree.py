"""One tree per DVC experiment in MLflow: every top-level run a stage opens inside a DVC
experiment (its classifier, training runs and report; an evaluation is a child of its
training run) is a child of one parent run named after the experiment, so the runs table
groups a `make quick`, a queued or Slurm grid point or half of `gan remedies` under one row.

The parent is found by its tags, or made by the first stage of the experiment that logs (the
stages of one experiment run one after another, so two never race to make it). It is never
RUNNING (it does no work of its own: no heartbeat, nothing for the stale-run sweep): FINISHED,
or FAILED or KILLED after a stage of it did, and each child that ends moves its end time on,
so its Duration spans the experiment's runs. The report's tables and pictures are copied onto
it. Outside a DVC experiment (a plain `dvc repro`, a stage run by hand) runs stay at the top
level, as before."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

EXPERIMENT_TAG = "experiment_run"  # "true" on a DVC experiment's parent run


def experiment_name() -> str | None:
    """The DVC experiment this process runs in, if any (DVC sets DVC_EXP_NAME)."""
    return os.environ.get("DVC_EXP_NAME") or None


def experiment_parent(client: Any, experiment_id: str, tags: dict[str, str]) -> str | None:
    """The id of the running DVC experiment's parent run, made on first use (with TAGS'
    git commit); None outside an experiment."""
    name = experiment_name()
    if name is None:
        return None
    found = client.search_runs(
        [experiment_id], f"tags.{EXPERIMENT_TAG} = 'true' and tags.dvc_exp_name = '{name}'",
        max_results=1)
    if found:
        return found[0].info.run_id
    keep = {k: v for k, v in tags.items() if k in ("git_commit", "mlflow.source.git.commit")}
    run = client.create_run(experiment_id, run_name=name, tags=keep | {
        EXPERIMENT_TAG: "true", "dvc_exp_name": name, "stage": "experiment"})
    client.set_terminated(run.info.run_id, "FINISHED")
    return run.info.run_id


def extend_parent(client: Any, parent_run_id: str, status: str = "FINISHED") -> None:
    """A child has ended: the parent's Duration now reaches it, and its status is the child's
    (FAILED or KILLED until a stage of the experiment runs again and finishes)."""
    client.set_terminated(parent_run_id, status, end_time=int(time.time() * 1000))


def copy_to_parent(parent_run_id: str, paths: list[Path]) -> None:
    """The report's files on the experiment's parent run too (its artifacts tab)."""
    import mlflow

    client = mlflow.MlflowClient()
    for path in paths:
        client.log_artifact(parent_run_id, str(path), "report")
