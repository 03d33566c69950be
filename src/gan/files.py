"""The one way the pipeline writes files (atomically: readers see the old file or the complete
new one) and reads torch files.

Device contract of torch files (every stage relies on it):

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

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from gan.errors import BadInputError, MissingInputError


@contextmanager
def atomic_file(path: Path | str) -> Iterator[Path]:
    """Yield a temp path beside `path`; on success it replaces `path`, on error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp)
    tmp.chmod(0o666 & ~_umask())  # mkstemp creates 0600; give the usual file mode
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_dir(path: Path | str) -> Iterator[Path]:
    """Yield a temporary directory beside `path`; on success it replaces `path` as a whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    tmp.chmod(0o777 & ~_umask())
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_text(path: Path | str, text: str) -> None:
    """Write a text file atomically."""
    with atomic_file(path) as tmp:
        tmp.write_text(text)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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
