"""Benchmark: the wall time of the quick pipeline (`make quick`'s parameters, one DVC
experiment with MLflow tracking into a fresh SQLite store) at this checkout against a baseline
commit, run one after the other on the same machine; prints both and the ratio.

    python benchmarks/quick_pipeline.py --baseline 27809f9        # MLflow models etc. cost
    python benchmarks/quick_pipeline.py --baseline HEAD~3 --runs 2 --keep /tmp/bench

Each side is a fresh `git clone` of this repository at its commit (this checkout's tracked
changes are committed to a throwaway clone first, so uncommitted work is measured as it is),
its stages run with that clone's `src` first on PYTHONPATH, the data from
FASHION_MNIST_MIRROR. A benchmark, not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quick_params() -> list[str]:
    """QUICK_PARAMS as the Makefile defines them."""
    out = subprocess.run(["make", "-s", "--eval", "p: ; @echo $(QUICK_PARAMS)", "p"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [a.strip("'") for a in out.split()]


def checkout(commit: str | None, where: Path) -> Path:
    """A clone at COMMIT, or (None) at this checkout's working tree, tracked files as they are."""
    subprocess.run(["git", "clone", "-q", str(ROOT), str(where)], check=True)
    if commit is None:
        files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                               check=True).stdout.split()
        for rel in files:
            if (ROOT / rel).is_file():
                (where / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / rel, where / rel)
        subprocess.run(["git", "add", "-A"], cwd=where, check=True)
        subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm",
                        "working tree", "--allow-empty"], cwd=where, check=True)
    else:
        subprocess.run(["git", "checkout", "-q", commit], cwd=where, check=True)
    return where


def timed_run(repo: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    env |= {"PYTHONPATH": str(repo / "src"),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"}
    start = time.perf_counter()
    subprocess.run(["dvc", "exp", "run", "--name", f"bench-{int(time.time())}",
                    *quick_params(), "-S", "device=cpu"], cwd=repo, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="the commit to compare with")
    parser.add_argument("--runs", type=int, default=1, help="runs per side (fresh clones)")
    parser.add_argument("--keep", type=Path, help="keep the clones (and their MLflow stores) "
                        "here instead of a temporary directory")
    args = parser.parse_args()
    times: dict[str, list[float]] = {"baseline": [], "this checkout": []}
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    with (contextlib.nullcontext(str(args.keep)) if args.keep
          else tempfile.TemporaryDirectory()) as tmp:
        for i in range(args.runs):
            for side, commit in (("baseline", args.baseline), ("this checkout", None)):
                repo = checkout(commit, Path(tmp) / f"{side.replace(' ', '-')}-{i}")
                times[side].append(timed_run(repo))
                print(f"{side:14s} run {i + 1}: {times[side][-1]:7.1f} s", flush=True)
    base, this = (min(t) for t in times.values())
    print(f"quick pipeline: baseline {args.baseline} {base:.1f} s, this checkout {this:.1f} s, "
          f"ratio {this / base:.3f} (best of {args.runs})")


if __name__ == "__main__":
    main()
