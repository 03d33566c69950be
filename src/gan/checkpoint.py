"""Self-describing checkpoints: a model is rebuilt from the file alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from gan.atomic import atomic_file
from gan.errors import BadInputError, MissingInputError
from gan.models import build_model, model_config, model_name

FORMAT_VERSION = 1


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
    with atomic_file(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: Path | str, device: torch.device | str = "cpu"
                    ) -> tuple[dict[str, nn.Module], dict[str, Any]]:
    """Rebuild every model stored in a checkpoint; returns (models, extra)."""
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"{path}: checkpoint not found; run the stage that writes it")
    payload = torch.load(path, map_location=device, weights_only=True)
    if not isinstance(payload, dict) or payload.get("format_version") != FORMAT_VERSION:
        raise BadInputError(f"{path}: not a fashion-gan checkpoint (format_version "
                         f"{FORMAT_VERSION} expected); rerun the stage that writes it")
    models = {}
    for key, entry in payload["models"].items():
        model = build_model(entry["name"], entry["config"])
        model.load_state_dict(entry["state_dict"])
        models[key] = model.to(device)
    return models, payload["extra"]
