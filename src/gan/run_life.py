"""A run's end and its signs of life: the status that ends it (FINISHED, FAILED, KILLED, by
what ended the stage), one line for a store lost on the way, and the heartbeat tag that
`gan runs` reads for runs a dead process left RUNNING (see gan.tracking)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from gan.errors import Terminated
from gan.store import TrackingUnavailable, retry_locked

log = logging.getLogger(__name__)

HEARTBEAT_TAG = "heartbeat"
INTERRUPTED_TAG = "interrupted"  # when and why a scheduler stopped the run (it resumes)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def tag_interrupted(note: str) -> None:
    """The active run was stopped by its scheduler and will resume: say when and why."""
    import mlflow

    mlflow.set_tag(INTERRUPTED_TAG, f"{utc_now()}: {note}")


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
