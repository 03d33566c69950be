"""Where MLflow runs go, and a store that many processes can write at once.

Every way of running logs to one store: `MLFLOW_TRACKING_URI` when set, else the SQLite file
`mlflow.db` at the root of the user's repository. DVC runs queued and `--temp` experiments in
temporary copies under `<repo>/.dvc/tmp/exps/`, which it deletes afterwards; it sets
`DVC_ROOT` to the user's repository for them (and for every stage it runs), so the root is
`DVC_ROOT`, else the repository that holds a `.dvc/tmp/exps` copy we run in, else the current
directory.

Concurrent writers (a `dvc queue start -j N`): the SQLite file is switched to WAL (readers do
not block the writer), the store is created and migrated by one process at a time under a file
lock, and writes that still meet a locked database are retried with backoff.
"""

from __future__ import annotations

import fcntl
import logging
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
RETRY_SECONDS = 120.0


def project_root(cwd: Path | None = None) -> Path:
    """The user's repository, also from inside DVC's temporary experiment copies."""
    if os.environ.get("DVC_ROOT"):
        return Path(os.environ["DVC_ROOT"]).resolve()
    cwd = (cwd or Path.cwd()).resolve()
    for path in (cwd, *cwd.parents):
        if path.name == "exps" and path.parent.name == "tmp" and path.parent.parent.name == ".dvc":
            return path.parent.parent.parent
    return cwd


def tracking_uri(root: Path | None = None) -> str:
    """MLFLOW_TRACKING_URI if set, else the SQLite store `mlflow.db` at the project root."""
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    return f"sqlite:///{(root or project_root()) / 'mlflow.db'}"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a `sqlite:///...` URI, None for other stores."""
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None


@contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """Exclusive across processes for a SQLite store (a no-op for a tracking server)."""
    db = sqlite_path(uri)
    if db is None:
        yield
        return
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def prepare_store(uri: str, experiment: str, artifact_location: str) -> None:
    """Create (and migrate) the store and the experiment once, whoever comes first.

    `artifact_location` is used for a SQLite store; a tracking server keeps artifacts where
    its own `--artifacts-destination` says."""
    import mlflow

    with store_lock(uri):
        db = sqlite_path(uri)
        if db is not None:
            with sqlite3.connect(db) as conn:  # persistent: every later connection is WAL
                conn.execute("PRAGMA journal_mode=WAL")
        client = mlflow.MlflowClient(uri)
        if client.get_experiment_by_name(experiment) is None:
            try:
                client.create_experiment(experiment, artifact_location=artifact_location
                                         if db is not None else None)
            except mlflow.exceptions.MlflowException:  # another machine created it meanwhile
                if client.get_experiment_by_name(experiment) is None:
                    raise


def is_locked_error(exc: BaseException) -> bool:
    return "database is locked" in str(exc) or "database table is locked" in str(exc)


def retry_locked(fn: Callable[[], T], seconds: float = RETRY_SECONDS) -> T:
    """Call fn, retrying with jittered backoff while SQLite reports a locked database."""
    deadline, delay = time.monotonic() + seconds, 0.05
    while True:
        try:
            return fn()
        except Exception as exc:
            if not is_locked_error(exc) or time.monotonic() > deadline:
                raise
            log.debug("store locked, retrying in %.2fs", delay)
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 2.0)
