"""Training as a user runs it, for tests: small prepared data, small params, the `gan train`
command line, and stopping it by a signal once its checkpoint reaches an epoch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
import yaml

from tests.conftest import REPO

EPOCHS = 12


def write_params(tmp_path: Path, device: str) -> Path:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params |= {"device": device, "epochs": EPOCHS, "batch_size": 64}
    params["variants"]["dcgan"]["width"] = 16
    params["eval"]["eval_every"] = 5
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def train_cmd(data: Path, out: Path, params: Path, track: bool = False) -> list[str]:
    return [sys.executable, "-m", "gan.cli", "train", "dcgan", "--data", str(data),
            "--out", str(out / "dcgan.pt"), "--state-dir", str(out / "state"),
            "--snapshot-dir", str(out / "snapshots"), "--metrics-csv", str(out / "dcgan.csv"),
            "--params", str(params), "--track" if track else "--no-track"]


def kill_after_epoch(cmd: list[str], last: Path, epoch: int, cwd: Path = REPO,
                     env: dict | None = None, sig: int = signal.SIGKILL,
                     stderr: Path | None = None) -> int:
    """Start training, send it SIG (SIGKILL) once its checkpoint holds `epoch` or more; the
    epoch reached. `last` may be a glob pattern (the first match is read). STDERR: a file for
    the command's stderr."""
    err = stderr.open("w") if stderr else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err,
                            start_new_session=True)
    reached, deadline = 0, time.time() + 300
    try:
        while proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
            try:
                found = next(Path(last.anchor).glob(str(last.relative_to(last.anchor))))
                reached = torch.load(found, weights_only=True)["extra"]["epoch"]
            except Exception:  # not written yet, or being replaced
                continue
            if reached >= epoch:
                break
    finally:
        os.killpg(proc.pid, sig)
        proc.wait()
        if stderr:
            err.close()
    kill_after_epoch.returncode = proc.returncode
    return reached


def store_env(uri: str) -> dict[str, str]:
    """This environment with the MLflow tracking store at `uri` (and no other MLflow setting),
    logging at INFO."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    return env | {"MLFLOW_TRACKING_URI": uri, "GAN_LOG_LEVEL": "INFO"}
