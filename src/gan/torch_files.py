"""The one way the pipeline reads and writes torch files.

Device contract (every stage relies on it):

- Every file is read onto the CPU (`map_location="cpu"`), whatever device the stage runs on.
- Callers then move models and optimizer state to the device (`Module.to(device)`,
  `Optimizer.load_state_dict` follows its parameters); everything else read from a file
  (animation frames, RNG states, history, reference statistics) stays on the CPU.
- Anything that becomes numpy, PIL or a saved file is moved to the CPU first.

So a checkpoint written on a GPU loads on a CPU-only machine, and RNG states (which torch takes
only as CPU ByteTensors) restore on any device.

A missing, empty, truncated or foreign file raises a PipelineError whose one-line message names
the file, what is wrong with it, and what to rerun; the entry points print it and exit 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from gan.atomic import atomic_file
from gan.errors import BadInputError, MissingInputError


def save_file(payload: Any, path: Path | str) -> None:
    """torch.save atomically: readers see the old file or the complete new one."""
    with atomic_file(path) as tmp:
        torch.save(payload, tmp)


def load_file(path: Path | str, what: str, rerun: str) -> Any:
    """Read a torch file onto the CPU (tensors only, no pickled code).

    `what` names the file's role ("prepared data", "checkpoint"), `rerun` the fix
    ("rerun `dvc repro prepare`"); both go into the error for a missing or unreadable file.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"{path}: {what} not found; {rerun}")
    if path.stat().st_size == 0:
        raise BadInputError(f"{path}: {what} is an empty file; {rerun}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure to parse means an unreadable file
        text = str(exc).strip()
        detail = text.splitlines()[0].split(". ")[0][:160] if text else ""  # first sentence
        reason = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
        raise BadInputError(f"{path}: {what} is truncated or corrupt ({reason}); "
                            f"{rerun}") from exc
