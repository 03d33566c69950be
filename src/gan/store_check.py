"""Before any work, a stage that tracks checks its MLflow store, in a few seconds at most: a
tracking server must answer on `/health`, an SQLite file must be a database. A store that
cannot take runs stops the stage with one line (the URI, what is wrong, the fix) and exit
status 2, before anything is written, instead of MLflow's minutes of retries and a traceback.

A store that stops answering in the middle of a run: `TrackingUnavailable` (see
`gan.tracking.MlflowTracker`), which each stage words with what it keeps."""

from __future__ import annotations

import sqlite3
import urllib.error
import urllib.request
from contextlib import closing
from pathlib import Path

from gan.errors import PipelineError
from gan.mlflow_store import is_locked_error, sqlite_path

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
