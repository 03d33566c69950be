"""One GPU per worker, tested on the CPU with a simulated device count: each worker process
claims its own, the least busy free one first, a dead worker's GPU is free again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from gan.gpu_claim import claim_gpu

HOLDER = """
import sys
from pathlib import Path
from gan.gpu_claim import claim_gpu
used = [5_000, 1_000, 3_000]  # MiB in use on simulated GPUs 0, 1, 2
print(claim_gpu(3, used.__getitem__, Path(sys.argv[1]), wait=False), flush=True)
sys.stdin.read()  # hold the claim until told to go
"""


def holder(locks) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(locks)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip()


def test_workers_claim_their_own_gpu_least_busy_first_and_a_dead_ones_is_freed(tmp_path):
    procs = []
    try:
        claimed = []
        for _ in range(4):
            proc, index = holder(tmp_path)
            procs.append(proc)
            claimed.append(index)
        assert claimed == ["1", "2", "0", "None"]  # by memory in use; then none is free
        os.kill(procs[1].pid, signal.SIGKILL)  # the worker on GPU 2 dies
        procs[1].wait()
        proc, index = holder(tmp_path)
        procs.append(proc)
        assert index == "2"
        assert (tmp_path / "gpu2.lock").read_text().strip() == str(proc.pid)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.stdin.close()
                proc.wait(timeout=30)


def test_a_process_keeps_the_gpu_it_claimed(tmp_path):
    first = claim_gpu(2, lambda i: 0, tmp_path)
    assert claim_gpu(2, lambda i: -i, tmp_path) == first  # asked again: the same one
    assert os.path.exists(tmp_path / f"gpu{first}.lock")
