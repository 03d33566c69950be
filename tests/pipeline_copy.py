"""Helpers for end-to-end tests: a git copy of the tracked tree with small params, and the
environment to run DVC and `gan` in."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gan.layout import RunPaths
from tests.conftest import REPO

VARIANTS = ("gan", "dcgan", "dcgan_bn", "cgan", "cgan_proj")
SEEDS = (0, 1)
RUNS = tuple(RunPaths(v, s) for v in VARIANTS for s in SEEDS)  # every (variant, seed)
SMALL = {
    "seeds": list(SEEDS),
    "epochs": 2,
    "batch_size": 64,
    "data": {"val_size": 500, "train_size": 2000, "test_size": 1000},
    "classifier": {"epochs": 3, "channels": 16, "feature_dim": 32},
    "variants": {name: {"width": 8} for name in VARIANTS},
    "eval": {"eval_every": 1, "snapshot_n_samples": 200, "mode_n_samples": 2000},
    "mlflow": {"system_metrics_s": 1},  # runs of seconds still get their system metrics
}


def merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        out[key] = merge(base[key], value) if isinstance(value, dict) else value
    return out


def run(cmd: list[str], cwd: Path, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def pipeline_env(mirror_dir: Path) -> dict[str, str]:
    """This environment without MLflow/DVC settings, with the venv first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    return env | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
                  "FASHION_MNIST_MIRROR": str(mirror_dir), "GAN_LOG_LEVEL": "INFO",
                  "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                  "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}


def copy_repo(root: Path, env: dict, params: dict = SMALL,
              variants: tuple[str, ...] = VARIANTS) -> Path:
    """A fresh git repository at `root` holding the tracked tree, with `params` merged in and
    only `variants` kept."""
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                           check=True).stdout.split()
    for rel in files:
        if (REPO / rel).is_file():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, root / rel)
    (root / "dvc.lock").unlink(missing_ok=True)
    merged = merge(yaml.safe_load((REPO / "params.yaml").read_text()), params)
    merged["variants"] = {name: merged["variants"][name] for name in variants}
    (root / "params.yaml").write_text(yaml.safe_dump(merged, sort_keys=False))
    for cmd in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"],
                ["git", "commit", "-qm", "init"]):
        run(cmd, root, env)
    return root
