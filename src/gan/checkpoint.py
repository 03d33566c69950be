"""Self-describing checkpoints: a model is rebuilt from the file alone (the read side of a
training run's files is `gan.trained`).

Read through `gan.files` (see its device contract): the file is read on the CPU, the models
are rebuilt and moved to the requested device, and `extra` stays on the CPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from gan.errors import BadInputError
from gan.files import load_file, save_file
from gan.models import build_model, model_config, model_name
from gan.runtime import to_device

FORMAT_VERSION = 1
RERUN = "rerun the stage that writes it"


def save_checkpoint(path: Path | str, models: dict[str, nn.Module],
                    extra: dict[str, Any] | None = None) -> None:
    """Atomically save registered models with their names and configs, plus `extra` state."""
    payload = {
        "format_version": FORMAT_VERSION,
        "models": {
            key: {"name": model_name(m), "config": model_config(m),
                  "state_dict": m.state_dict()}
            for key, m in models.items()
        },
        "extra": extra or {},
    }
    save_file(payload, path)


def load_checkpoint(path: Path | str, device: torch.device | str = "cpu", rerun: str = RERUN
                    ) -> tuple[dict[str, nn.Module], dict[str, Any]]:
    """Rebuild every model stored in a checkpoint on `device`; returns (models, extra), with
    `extra` on the CPU. `rerun` is the fix an error message names."""
    payload = load_file(path, "checkpoint", rerun)
    if not isinstance(payload, dict) or payload.get("format_version") != FORMAT_VERSION:
        raise BadInputError(f"{path}: not a fashion-gan checkpoint (format_version "
                            f"{FORMAT_VERSION} expected); {rerun}")
    models = {}
    for key, entry in payload["models"].items():
        model = build_model(entry["name"], entry["config"])
        model.load_state_dict(entry["state_dict"])
        models[key] = to_device(model, device)
    return models, payload["extra"]
