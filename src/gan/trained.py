"""The read side of a training run's files: its final model and its generator snapshots, as
sample and evaluate read them, with no training code (the write side is `gan.train.state`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gan.checkpoint import load_checkpoint
from gan.run_config import TrainConfig, config_from_dict

SNAPSHOT = re.compile(r"epoch_(\d+)\.pt")


def load_trained(path: Path, device: torch.device, train_stage: str
                 ) -> tuple[nn.Module, TrainConfig, dict[str, Any]]:
    """A trained run's sampling generator (the EMA copy when there is one, in eval mode),
    its config and the checkpoint's extra data (epoch, run_id, frames...), on the CPU.
    TRAIN_STAGE (train@dcgan-0) is what an error about a bad file tells the user to rerun."""
    models, extra = load_checkpoint(path, device, f"rerun `dvc repro {train_stage}`")
    G = models.get("generator_ema", models["generator"]).eval()
    return G, config_from_dict(extra["config"]), extra


def snapshot_path(directory: Path, epoch: int) -> Path:
    return directory / f"epoch_{epoch:04d}.pt"


def snapshots(directory: Path) -> list[tuple[int, Path]]:
    """(epoch, path) of every snapshot in `directory`, by epoch."""
    found = [(int(m.group(1)), p) for p in directory.glob("epoch_*.pt")
             if (m := SNAPSHOT.fullmatch(p.name))]
    return sorted(found)
