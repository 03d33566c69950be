"""One GPU per worker: a stage on a machine with several visible GPUs claims one for its life.

DVC's queue workers (`dvc queue start -j N`, started by `gan queue --jobs N`) all see every GPU
and DVC sets nothing per worker, so each stage claims a GPU itself: an exclusive `flock` on
`<lock dir>/gpu<i>.lock`, held until the process exits (the kernel releases it however the
process ends, SIGKILL included, so a dead worker never keeps a GPU). Among the free GPUs the
least busy (least memory in use, by any process) is taken first; when all are claimed the
stage waits for one. The lock dir is machine-wide (GAN_GPU_LOCK_DIR, default
/tmp/gan-gpu-locks), so experiments of different repositories share the GPUs fairly too.
Under Slurm, a task sees only the GPUs it was given (CUDA_VISIBLE_DEVICES); with one visible,
nothing is claimed.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

_held: dict[str, tuple[int, IO[str]]] = {}  # lock dir -> (index, open lock file) of this process


def lock_dir() -> Path:
    return Path(os.environ.get("GAN_GPU_LOCK_DIR", "/tmp/gan-gpu-locks"))


def try_claim(index: int, locks: Path) -> IO[str] | None:
    """The open, locked file of GPU INDEX, or None if another process holds it."""
    locks.mkdir(parents=True, exist_ok=True)
    handle = open(locks / f"gpu{index}.lock", "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")  # who holds it, for a person looking
    handle.flush()
    return handle


def claim_gpu(n_devices: int, used_memory: Callable[[int], int], locks: Path | None = None,
              wait: bool = True, poll_s: float = 2.0) -> int | None:
    """Claim one of N_DEVICES GPUs for the life of this process, the free one with the least
    USED_MEMORY(i) first; the same index again if this process holds one. With WAIT=False,
    None when every GPU is claimed."""
    locks = locks or lock_dir()
    if str(locks) in _held:
        return _held[str(locks)][0]
    waited = False
    while True:
        for index in sorted(range(n_devices), key=used_memory):
            handle = try_claim(index, locks)
            if handle is not None:
                _held[str(locks)] = (index, handle)
                return index
        if not wait:
            return None
        if not waited:
            log.info("all %d GPUs are claimed by other stages (%s); waiting for one",
                     n_devices, locks)
            waited = True
        time.sleep(poll_s)
