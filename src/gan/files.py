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

A write on a full, read-only or forbidden disk raises a DiskError (a PipelineError) naming the
file, the error and the fix, and leaves the old file as it was.

A missing, empty, truncated or foreign file raises a PipelineError whose one-line message names
the file, what is wrong with it, and what to rerun; the entry points print it and exit 2.
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from gan.errors import BadInputError, DiskError, MissingInputError

# errno -> what to do about it, for a write that cannot happen on this filesystem
DISK_FIXES = {
    errno.ENOSPC: "free space there (or point the output elsewhere) and rerun",
    errno.EDQUOT: "free space within your quota (or point the output elsewhere) and rerun",
    errno.EROFS: "the filesystem is read-only: point the output at a writable directory "
                 "and rerun",
    errno.EACCES: "you may not write there: point the output at a directory you can write, "
                  "or fix its permissions, and rerun",
    errno.EPERM: "you may not write there: point the output at a directory you can write, "
                 "or fix its permissions, and rerun",
}


def _about(filename: str | None, path: Path) -> bool:
    """Whether an error's FILENAME is PATH's side of the write (its directory, a parent being
    made, the temporary file beside it), not a file the write was reading from."""
    if filename is None:
        return True
    name = Path(os.fsdecode(filename)).resolve()
    where = path.parent.resolve()
    return where.is_relative_to(name) or name.is_relative_to(where)


@contextmanager
def disk_errors_as_one_line(path: Path) -> Iterator[None]:
    """A full, read-only or forbidden disk as a DiskError naming PATH, the error and the fix
    (what was there before the write is left as it was)."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in DISK_FIXES or not _about(exc.filename, path):
            raise
        raise DiskError(f"{path}: cannot write it: {os.strerror(exc.errno)} "
                        f"({errno.errorcode[exc.errno]}); {DISK_FIXES[exc.errno]} (what was "
                        "written before is kept: a training resumes from its last checkpoint)"
                        ) from None


@contextmanager
def atomic_file(path: Path | str) -> Iterator[Path]:
    """Yield a temp path beside `path`; on success it replaces `path`, on error it is removed.
    A full or read-only disk raises DiskError (one line, see disk_errors_as_one_line)."""
    path = Path(path)
    with disk_errors_as_one_line(path):
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
    """Yield a temporary directory beside `path`; on success it replaces `path` as a whole.
    A full or read-only disk raises DiskError."""
    path = Path(path)
    with disk_errors_as_one_line(path):
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
    """torch.save atomically: readers see the old file or the complete new one. Serialized in
    memory first, so a full disk is an OSError of Python's (torch's own writer reports it as
    an opaque RuntimeError)."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    with atomic_file(path) as tmp:
        tmp.write_bytes(buffer.getbuffer())


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
