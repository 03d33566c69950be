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

import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

from gan.config import ConfigError
from gan.errors import PipelineError
from gan.store import check_store, tracking_uri

SERVER_FIX = ("start a tracking server that the nodes reach (`make mlflow-server "
              "MLFLOW_HOST=0.0.0.0`) and set MLFLOW_TRACKING_URI=http://<host>:5000")

TASK = """#!/usr/bin/env bash
# Written by `gan queue --slurm`: array task i runs point i as one DVC experiment in a clone of
# {url} at {commit}, logs to {uri} and pushes the experiment to the remotes.
set -euo pipefail
set -f  # a point's values are words, never globs
points=(
{points}
)
name="{prefix}-$SLURM_ARRAY_TASK_ID"
work="${{GAN_SCRATCH:-${{TMPDIR:-/tmp}}}}/$name-$SLURM_ARRAY_JOB_ID"
trap 'rm -rf "$work"' EXIT
echo "task $SLURM_ARRAY_TASK_ID on $(hostname): experiment $name: ${{points[$SLURM_ARRAY_TASK_ID]}}"
git clone -q {url_q} "$work"
cd "$work"
git checkout -q {commit}
export MLFLOW_TRACKING_URI={uri_q}
dvc pull --allow-missing -q || echo "nothing pulled from the DVC remote; computing it"
dvc exp run --name "$name" ${{points[$SLURM_ARRAY_TASK_ID]}}
dvc exp push {remote_q} "$name"
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


def task_script(points: list[list[str]], prefix: str, url: str, commit: str, uri: str,
                remote: str) -> str:
    """The batch script of the array: task i runs points[i]."""
    lines = "\n".join("  " + shlex.quote(" ".join(f"-S {s}" for s in p)) for p in points)
    return TASK.format(points=lines, prefix=prefix, url=url, url_q=shlex.quote(url),
                       commit=commit, uri=uri, uri_q=shlex.quote(uri),
                       remote_q=shlex.quote(remote))


def submit(points: list[list[str]], remote: str = "origin", partition: str | None = None,
           gres: str | None = None, time_limit: str | None = None,
           sbatch_args: list[str] | None = None) -> tuple[str, str]:
    """Submit POINTS as one job array: (job id, experiment name prefix); task i's experiment
    is `<prefix>-<i>`, its output in .dvc/tmp/gan-slurm/<prefix>-<i>.out."""
    if not points:
        raise ConfigError("--slurm: the grid is empty")
    url, commit, uri = check_can_submit(remote)
    prefix = f"slurm-{time.strftime('%Y%m%d-%H%M%S')}"
    logs = Path(git("rev-parse", "--show-toplevel")) / ".dvc/tmp/gan-slurm"
    logs.mkdir(parents=True, exist_ok=True)
    script = logs / f"{prefix}.sbatch"
    script.write_text(task_script(points, prefix, url, commit, uri, remote))
    options = [f"--array=0-{len(points) - 1}", f"--job-name={prefix}",
               f"--output={logs}/{prefix}-%a.out"]
    options += [f"--partition={partition}"] if partition else []
    options += [f"--gres={gres}"] if gres else []
    options += [f"--time={time_limit}"] if time_limit else []
    cmd = ["sbatch", "--parsable", *options, *(sbatch_args or []), str(script)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        script.unlink()  # nothing was submitted: leave nothing behind
        raise PipelineError(f"`{shlex.join(cmd)}` failed: {proc.stderr.strip()}")
    return proc.stdout.strip().split(";")[0], prefix


def wait_for_array(job: str, poll_s: float = 5.0) -> bool:
    """Wait until no task of array JOB is pending or running; whether every task completed
    (states from `scontrol`, which works without Slurm's accounting database)."""
    while True:
        out = subprocess.run(["scontrol", "-o", "show", "job", job], capture_output=True,
                             text=True).stdout
        states = re.findall(r"JobState=(\w+)", out)
        if states and not {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING"} & set(states):
            return set(states) == {"COMPLETED"}
        time.sleep(poll_s)
