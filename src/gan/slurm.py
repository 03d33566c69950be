"""`gan queue --slurm`: a grid as one Slurm job array, one DVC experiment per array task.

Each task clones the git remote at the submitted commit into the node's scratch space
(GAN_SCRATCH, else TMPDIR, else /tmp), pulls what the DVC remote already holds, runs
`dvc exp run -S ...` (the experiment `gan queue` queues locally), logs to the tracking server
of MLFLOW_TRACKING_URI and pushes the experiment (`dvc exp push`: the git ref and its outputs).
A task that fails exits non-zero (FAILED in Slurm; its MLflow runs are marked FAILED by the
stages) and the others go on. Nothing on the submitting machine is read by the tasks except
the environment sbatch exports (PATH with the venv, which must be on a shared filesystem).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from gan.config import ConfigError
from gan.errors import PipelineError
from gan.layout import CHECKPOINT_DIR_ENV
from gan.store import check_store, tracking_uri

SERVER_FIX = ("start a tracking server that the nodes reach (`make mlflow-server "
              "MLFLOW_HOST=0.0.0.0`) and set MLFLOW_TRACKING_URI=http://<host>:5000")

TASK = """#!/usr/bin/env bash
# Written by `gan queue --slurm`: array task i runs point i as one DVC experiment in a clone of
# {url} at {commit}, logs to {uri} and pushes the experiment to the remotes.
# Requeueable: training keeps its resumable state, and DVC its cache, in GAN_CHECKPOINT_DIR
# (shared); on SIGUSR1 (sent {signal_s} s before the time limit) the training stops after the
# epoch in progress and the task requeues itself; a preempted or requeued task resumes there.
set -euo pipefail
set -f  # a point's values are words, never globs
points=(
{points}
)
name="{prefix}-$SLURM_ARRAY_TASK_ID"
attempt="${{SLURM_RESTART_COUNT:-0}}"
work="${{GAN_SCRATCH:-${{TMPDIR:-/tmp}}}}/$name-$SLURM_ARRAY_JOB_ID-$attempt"
export GAN_CHECKPOINT_DIR={checkpoints_q} GAN_STOP_FILE="$work.stop"
watcher=""
trap 'rm -rf "$work" "$GAN_STOP_FILE"; [ -z "$watcher" ] || kill "$watcher" 2>/dev/null' EXIT
trap 'exit 143' TERM  # preempted, requeued or cancelled: clean up (training resumes)
near_limit() {{
  echo "$(date +%T) time limit near: training stops after this epoch, then the task requeues"
  touch "$GAN_STOP_FILE"
  # A stage that is not training cannot stop early: requeue 15 s before the limit kills it.
  limit=$(squeue -h -j "$SLURM_JOB_ID" -o %e 2>/dev/null || true)
  case "$limit" in
    [0-9]*T*) end=$(date -d "$limit" +%s) ;;
    *) end=$(( $(date +%s) + {grace_s} + 15 )) ;;  # the limit unknown: trust the signal
  esac
  (sleep $(( end - $(date +%s) > 15 ? end - $(date +%s) - 15 : 0 ))
   kill -0 $$ 2>/dev/null || exit 0  # the task has ended meanwhile
   echo "$(date +%T) the limit is 15 s away: requeueing now"; scontrol requeue "$SLURM_JOB_ID") &
  watcher=$!
}}
trap near_limit USR1
echo "task $SLURM_ARRAY_TASK_ID (attempt $attempt) on $(hostname): experiment $name:" \
  "${{points[$SLURM_ARRAY_TASK_ID]}}"
git clone -q {url_q} "$work"
cd "$work"
git checkout -q {commit}
# The experiment's DVC cache lives beside its checkpoints: a requeued attempt restores the
# stages an earlier one finished (DVC's run cache) instead of running them again.
dvc cache dir --local "$GAN_CHECKPOINT_DIR/$name/dvc-cache"
export MLFLOW_TRACKING_URI={uri_q}
dvc pull --allow-missing -q || echo "nothing pulled from the DVC remote; computing it"
dvc exp run --name "$name" ${{points[$SLURM_ARRAY_TASK_ID]}} &
pid=$!
while status=0; wait "$pid" || status=$?; kill -0 "$pid" 2>/dev/null; do :; done
if [ "$status" != 0 ]; then
  if [ -e "$GAN_STOP_FILE" ]; then
    echo "$(date +%T) requeueing; training resumes from $GAN_CHECKPOINT_DIR/$name"
    scontrol requeue "$SLURM_JOB_ID"
    sleep 60  # Slurm ends this attempt
  fi
  exit "$status"
fi
dvc exp push --force {remote_q} "$name"  # a requeue after an earlier push replaces it
rm -rf "$GAN_CHECKPOINT_DIR/$name"  # pushed: nothing left to resume
"""


def git(*args: str) -> str:
    proc = subprocess.run(["git", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise PipelineError(f"`git {' '.join(args)}` failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def check_can_submit(remote: str) -> tuple[str, str, str]:
    """(git remote URL, commit, tracking URI) once everything a task needs is in place; else
    one line naming what is missing and the fix."""
    if shutil.which("sbatch") is None:
        raise PipelineError("--slurm: `sbatch` is not on PATH; run this on a Slurm login node")
    if git("status", "--porcelain", "--untracked-files=no"):
        raise PipelineError("--slurm: the working tree has uncommitted changes, and the tasks "
                            "run a commit from the git remote; commit and push them "
                            f"(`git commit -am ...; git push {remote}`), or stash them")
    url = git("remote", "get-url", remote) if remote in git("remote").split() else None
    if url is None:
        raise PipelineError(f"--slurm: no git remote {remote!r}; add the repository the nodes "
                            f"clone (`git remote add {remote} URL`) or name it with --git-remote")
    commit = git("rev-parse", "HEAD")
    git("fetch", "-q", remote)
    if not git("branch", "-r", "--contains", commit, "--list", f"{remote}/*"):
        raise PipelineError(f"--slurm: commit {commit[:8]} is not on {remote}; push it "
                            f"(`git push {remote} HEAD`)")
    dvc_remote = subprocess.run(["dvc", "remote", "default"], capture_output=True, text=True)
    if dvc_remote.returncode != 0 or not dvc_remote.stdout.strip():
        raise PipelineError("--slurm: no default DVC remote, where the tasks push their "
                            "outputs; add one the nodes reach (`dvc remote add -d NAME URL`), "
                            "commit .dvc/config and push")
    uri = tracking_uri()
    if not uri.startswith(("http://", "https://")):
        raise PipelineError(f"--slurm: tracking store {uri}: the tasks run on other nodes and "
                            "write at once, and SQLite on a shared filesystem loses or "
                            "corrupts runs (its file locks do not hold over NFS); "
                            f"{SERVER_FIX}")
    check_store(uri)
    return url, commit, uri


def checkpoint_root(checkpoint_dir: Path | None) -> Path:
    """The shared directory the tasks keep their resumable state in (made now), from
    --checkpoint-dir or GAN_CHECKPOINT_DIR; one line naming the fix when neither is set."""
    given = checkpoint_dir or os.environ.get(CHECKPOINT_DIR_ENV)
    if not given:
        raise PipelineError(f"--slurm: no shared checkpoint directory: a requeued or preempted "
                            "task would train again from epoch 0; name a directory on the "
                            "filesystem every node mounts with --checkpoint-dir DIR (or "
                            f"{CHECKPOINT_DIR_ENV}=DIR)")
    root = Path(given).expanduser().resolve()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PipelineError(f"--checkpoint-dir {root}: {exc.strerror}; name a directory you "
                            "can write on the shared filesystem") from exc
    return root


def task_script(points: list[list[str]], prefix: str, url: str, commit: str, uri: str,
                remote: str, checkpoints: Path, signal_s: int) -> str:
    """The batch script of the array: task i runs points[i]."""
    lines = "\n".join("  " + shlex.quote(" ".join(f"-S {s}" for s in p)) for p in points)
    return TASK.format(points=lines, prefix=prefix, url=url, url_q=shlex.quote(url),
                       commit=commit, uri=uri, uri_q=shlex.quote(uri),
                       remote_q=shlex.quote(remote), checkpoints_q=shlex.quote(str(checkpoints)),
                       signal_s=signal_s, grace_s=max(signal_s - 15, signal_s // 2))


@dataclass(frozen=True)
class ArrayOptions:
    """How the array is submitted: sbatch's own options, and ours."""

    partition: str | None = None
    gres: str | None = None
    time_limit: str | None = None       # sbatch --time
    max_running: int = 0                # --array=...%N: at most N tasks at once (0: no cap)
    signal_s: int = 180                 # SIGUSR1 this long before the time limit
    checkpoint_dir: Path | None = None  # else GAN_CHECKPOINT_DIR
    sbatch_args: tuple[str, ...] = ()

    def sbatch(self, n_tasks: int, prefix: str, logs: Path) -> list[str]:
        cap = f"%{self.max_running}" if self.max_running else ""
        options = [f"--array=0-{n_tasks - 1}{cap}", f"--job-name={prefix}",
                   f"--output={logs}/{prefix}-%a.out", "--open-mode=append", "--requeue",
                   f"--signal=B:USR1@{self.signal_s}"]
        options += [f"--partition={self.partition}"] if self.partition else []
        options += [f"--gres={self.gres}"] if self.gres else []
        options += [f"--time={self.time_limit}"] if self.time_limit else []
        return options + list(self.sbatch_args)


def submit(points: list[list[str]], prefix: str, remote: str = "origin",
           options: ArrayOptions = ArrayOptions()) -> str:
    """Submit POINTS as one job array named PREFIX; its job id. Task i's experiment is
    `<prefix>-<i>`, its output in .dvc/tmp/gan-slurm/<prefix>-<i>.out (every attempt)."""
    if not points:
        raise ConfigError("--slurm: the grid is empty")
    if options.max_running < 0 or options.signal_s < 10:
        raise ConfigError("--slurm: --max-running must be >= 0 (0: no cap) and "
                          f"--signal-before >= 10 s, got {options.max_running} and "
                          f"{options.signal_s}")
    url, commit, uri = check_can_submit(remote)
    checkpoints = checkpoint_root(options.checkpoint_dir)
    logs = Path(git("rev-parse", "--show-toplevel")) / ".dvc/tmp/gan-slurm"
    logs.mkdir(parents=True, exist_ok=True)
    script = logs / f"{prefix}.sbatch"
    script.write_text(task_script(points, prefix, url, commit, uri, remote, checkpoints,
                                  options.signal_s))
    cmd = ["sbatch", "--parsable", *options.sbatch(len(points), prefix, logs), str(script)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        script.unlink()  # nothing was submitted: leave nothing behind
        raise PipelineError(f"`{shlex.join(cmd)}` failed: {proc.stderr.strip()}")
    return proc.stdout.strip().split(";")[0]


ACTIVE = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED", "REQUEUE_FED",
          "REQUEUE_HOLD", "RESIZING", "SUSPENDED"}


def task_count(ids: str) -> int:
    """Tasks an ArrayTaskId field stands for: `3`, or a pending record's `2-5,7%2`."""
    count = 0
    for part in ids.split("%")[0].split(","):
        first, _, last = part.partition("-")
        count += int(last) - int(first) + 1 if last else 1
    return count


def array_states(job: str) -> dict[str, int]:
    """Task counts of array JOB by state (lower case), `requeued` counting the tasks that have
    restarted; from `scontrol`, which works without Slurm's accounting database. Empty when
    Slurm no longer knows the job."""
    out = subprocess.run(["scontrol", "-o", "show", "job", job], capture_output=True,
                         text=True).stdout
    counts: dict[str, int] = {}
    for line in out.splitlines():
        state = re.search(r"JobState=(\w+)", line)
        ids = re.search(r"ArrayTaskId=([\d,%-]+)", line)
        if not state or not ids:
            continue
        n = task_count(ids.group(1))
        counts[state.group(1).lower()] = counts.get(state.group(1).lower(), 0) + n
        if int((re.search(r"Restarts=(\d+)", line) or [0, "0"])[1]) > 0:
            counts["requeued"] = counts.get("requeued", 0) + n
    return counts


def states_line(job: str, counts: dict[str, int]) -> str:
    """`job 12: 1 pending, 2 running, 3 completed, 0 failed, 1 requeued` (other end states,
    such as timeout or cancelled, after them)."""
    shown = ("pending", "running", "completed", "failed", "requeued")
    rest = [f"{n} {s}" for s, n in sorted(counts.items()) if s not in shown]
    return f"job {job}: " + ", ".join([f"{counts.get(s, 0)} {s}" for s in shown] + rest)


def wait_for_array(job: str, poll_s: float = 5.0, out: TextIO = sys.stderr) -> bool:
    """Wait until no task of array JOB is pending or running, showing a live line of the
    tasks' states (rewritten in place on a terminal, a new line on each change elsewhere);
    whether every task completed."""
    shown, live = "", out.isatty()
    while True:
        counts = array_states(job)
        line = states_line(job, counts)
        if line != shown:
            out.write(("\r\033[K" if live else "") + line + ("" if live else "\n"))
            out.flush()
            shown = line
        states = {s.upper() for s in counts if s != "requeued"}  # that one counts restarts
        if states and not ACTIVE & states:
            out.write("\n" if live else "")
            return states == {"COMPLETED"}
        time.sleep(poll_s)
