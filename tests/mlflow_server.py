"""A real MLflow tracking server for tests: `make mlflow-server` on a local port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import REPO


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def mlflow_server(store_dir: Path, env: dict, port: int | None = None) -> Iterator[str]:
    """`make mlflow-server` with its store under STORE_DIR (the same dir: the same store
    again); yields its URI, and stops it (SIGKILL of the whole group) at the end."""
    port = port or free_port()
    proc = subprocess.Popen(
        ["make", "-C", str(REPO), "mlflow-server", f"MLFLOW_PORT={port}",
         f"MLFLOW_BACKEND=sqlite:///{store_dir / 'server.db'}",
         f"MLFLOW_ARTIFACTS={store_dir / 'server-artifacts'}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    pytest.fail("mlflow server did not start")
                time.sleep(0.5)
        yield uri
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
