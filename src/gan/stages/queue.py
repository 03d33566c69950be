"""`gan queue`: a grid of DVC experiments, queued and run by parallel workers. A command beside
the stages, not a DVC stage: it drives `dvc exp run --queue` and `dvc queue start`."""

from __future__ import annotations

import itertools
import logging
import os
import subprocess
import time
from pathlib import Path
from typing import Annotated

import typer

from gan.config import ConfigError
from gan.grid_table import Grid
from gan.overrides import check_points
from gan.slurm import ArrayOptions, submit, wait_for_array
from gan.stages import grid as grid_table
from gan.tracking import check_tracking

log = logging.getLogger(__name__)

ACTIVE = ("Queued", "Running")


def grid_points(grid: list[str]) -> list[list[str]]:
    """["lr_d=1e-4,2e-4", "seed=0,1"] -> every combination as `-S` values, in order."""
    axes = []
    for item in grid:
        key, sep, values = item.partition("=")
        if not sep or not key or not values or "" in values.split(","):
            raise ConfigError(f"grid item {item!r}: expected KEY=VALUE[,VALUE...], for example "
                              "lr_d=1e-4,2e-4 or variants.dcgan.width=32,64")
        axes.append([f"{key}={v}" for v in values.split(",")])
    return [list(point) for point in itertools.product(*axes)]


def default_jobs(threads_per_job: int) -> int:
    """One worker per GPU; on a CPU, the cores divided by the threads each job uses."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.device_count()
    return max(1, (os.cpu_count() or 1) // threads_per_job)


def dvc(*args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(["dvc", *args], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines() or ["no output"]
        raise ConfigError(f"`dvc {' '.join(args)}` failed (exit {proc.returncode}): {lines[-1]}")
    return proc.stdout


def queue_status() -> dict[str, int]:
    """Task counts by status, read from `dvc queue status`."""
    counts: dict[str, int] = {}
    for line in dvc("queue", "status").splitlines():
        words = line.split()
        if words and words[-1] in (*ACTIVE, "Success", "Failed"):
            counts[words[-1]] = counts.get(words[-1], 0) + 1
    return counts


SLURM = typer.Option(help="submit the grid to Slurm as one job array instead (README: "
                          "running many experiments on a cluster)")
SBATCH = typer.Option(help="more sbatch options, passed through (--sbatch=--mem=8G)")
MAX_RUNNING = typer.Option(help="--slurm: at most this many tasks at once (--array=...%N; "
                                "0: no cap)")
SIGNAL_BEFORE = typer.Option(help="--slurm: seconds before the time limit at which training "
                                  "stops after its epoch and the task requeues itself")
CHECKPOINT_DIR = typer.Option(help="--slurm: a directory on the shared filesystem where "
                                   "tasks keep training's resumable state (default: "
                                   "$GAN_CHECKPOINT_DIR)")


def run(grid: list[str], jobs: int = 0, threads_per_job: int = 1, start: bool = True,
        wait: bool = False, poll_s: float = 5.0,
        slurm: Annotated[bool, SLURM] = False, partition: str | None = None,
        gres: str | None = None,
        time_limit: Annotated[str | None, typer.Option("--time")] = None,
        sbatch: Annotated[list[str], SBATCH] = [],  # noqa: B006 (typer reads lists)
        git_remote: str = "origin",
        max_running: Annotated[int, MAX_RUNNING] = 0,
        signal_before: Annotated[int, SIGNAL_BEFORE] = 180,
        checkpoint_dir: Annotated[Path | None, CHECKPOINT_DIR] = None) -> None:
    """Queue one DVC experiment per point of GRID (KEY=V1,V2 ...; every combination) and start
    JOBS workers (default: one per GPU, or CPU cores / THREADS_PER_JOB).

    Follow with `dvc queue status` and the MLflow UI; `--wait` returns when all have ended
    (exit 1 if any failed). Each queued run logs to the repository's one MLflow store.

    With --slurm the grid becomes one Slurm job array (PARTITION, GRES, --time and SBATCH
    options passed to sbatch; MAX_RUNNING tasks at once): each task runs one experiment in a
    clone of GIT_REMOTE at this commit, logs to the tracking server of MLFLOW_TRACKING_URI and
    pushes its experiment (`dvc exp pull GIT_REMOTE` then shows it). Tasks are requeueable:
    training keeps its resumable state in CHECKPOINT_DIR, SIGNAL_BEFORE seconds before the
    time limit it stops after its epoch and the task requeues itself, and a preempted or
    requeued task resumes. `--wait` shows the tasks' states until all have ended.

    Every point is first composed as DVC will compose it and validated: one that cannot run
    is refused (exit 2), naming the point, the key and the fix, and nothing is queued.
    """
    points = grid_points(grid)
    check_points(Path("params.yaml"), points)  # a point that cannot run never leaves
    if slurm:
        named = Grid.new("slurm", points)
        prefix = named.name
        job = submit(points, prefix, git_remote, ArrayOptions(
            partition, gres, time_limit, max_running, signal_before, checkpoint_dir,
            tuple(sbatch)))
        named.save()
        log.info("submitted job array %s (%s); watch `squeue -j %s`, then `dvc exp pull %s` "
                 "and `dvc exp show`; `gan grid %s` makes its table", job, prefix, job,
                 git_remote, prefix)
        if wait:
            completed = wait_for_array(job, poll_s)
            grid_table.run(prefix)
            if not completed:
                raise SystemExit(1)
        return
    check_tracking()  # before queueing: every experiment would log there
    named = Grid.new("queue", points)
    for i, point in enumerate(points):
        dvc("exp", "run", "--queue", "--name", named.experiment(i),
            *itertools.chain.from_iterable(("-S", s) for s in point))
        log.info("queued %s: %s", named.experiment(i), " ".join(point))
    named.save()
    if not start:
        return
    jobs = jobs or default_jobs(threads_per_job)
    # Workers inherit this: each job's torch uses threads_per_job threads, not every core.
    env = os.environ | {"OMP_NUM_THREADS": str(threads_per_job)}
    dvc("queue", "start", "--jobs", str(jobs), env=env)
    log.info("%d experiments queued, %d workers started; watch `dvc queue status`",
             len(points), jobs)
    if not wait:
        return
    while (counts := queue_status()) and any(counts.get(s) for s in ACTIVE):
        time.sleep(poll_s)
    log.info("queue finished: %s", counts)
    grid_table.run(named.name)
    if counts.get("Failed"):
        raise SystemExit(1)
