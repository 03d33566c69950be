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

Before any work, a stage that tracks checks its store (`check_store`), in a few seconds at most:
a tracking server must answer on `/health`, an SQLite file must be a database. A store that
cannot take runs stops the stage with one line (the URI, what is wrong, the fix) and exit
status 2, before anything is written, instead of MLflow's minutes of retries and a traceback.
A store that stops answering in the middle of a run raises `TrackingUnavailable` too (see
`gan.tracking`), which each stage words with what it keeps.
"""

from __future__ import annotations

import fcntl
import logging
import os
import random
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TypeVar

from gan.errors import PipelineError
from gan.layout import project_root

log = logging.getLogger(__name__)

T = TypeVar("T")
RETRY_SECONDS = 120.0


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


# MLflow 3's UI opens an experiment of this kind in its model-training view (runs, charts,
# models) rather than the GenAI one (evaluations, traces) it may infer from runs without models.
EXPERIMENT_KIND, MODEL_DEVELOPMENT = "mlflow.experimentKind", "custom_model_development"


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
        found = client.get_experiment_by_name(experiment)
        if found.tags.get(EXPERIMENT_KIND) != MODEL_DEVELOPMENT:  # the UI's training view
            client.set_experiment_tag(found.experiment_id, EXPERIMENT_KIND, MODEL_DEVELOPMENT)


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

CHECK_TIMEOUT_S = 5.0
FIX = ("start the server (`make mlflow-server`), set MLFLOW_TRACKING_URI to one that runs, or "
       "run with --no-track")


class TrackingUnavailable(PipelineError):
    """The store does not answer, or refuses what is logged."""


def check_store(uri: str, timeout_s: float = CHECK_TIMEOUT_S) -> None:
    """Raise TrackingUnavailable when the store at URI cannot take runs (other schemes, such
    as file: or databricks, are left to MLflow)."""
    db = sqlite_path(uri)
    if db is not None:
        check_sqlite(uri, db)
    elif uri.startswith(("http://", "https://")):
        check_server(uri, timeout_s)


def check_sqlite(uri: str, db: Path) -> None:
    if not db.exists():
        return  # MLflow creates it
    try:
        read_only = f"{db.resolve().as_uri()}?mode=ro"
        with closing(sqlite3.connect(read_only, uri=True, timeout=2)) as conn:
            conn.execute("select count(*) from sqlite_master").fetchone()
    except sqlite3.Error as exc:
        if is_locked_error(exc):
            return  # another writer holds it: a live database
        raise TrackingUnavailable(
            f"tracking store {uri}: {db} is not an SQLite database ({exc}); move the file "
            "aside (a new store is created in its place), set MLFLOW_TRACKING_URI to another "
            "store, or run with --no-track") from None


def check_server(uri: str, timeout_s: float) -> None:
    url = f"{uri.rstrip('/')}/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            if response.status == 200:
                return
            problem = f"{url} answered HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        problem = f"{url} answered HTTP {exc.code}: is it an MLflow tracking server?"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        problem = f"no MLflow tracking server answers there ({reason})"
    raise TrackingUnavailable(f"tracking store {uri}: {problem}; {FIX}")
