"""Where the files of one (variant, seed) training run live, for the stages and dvc.yaml alike:
`<kind>/<variant>/seed<k>[.ext]`, so a variant's seeds sit side by side; and where the user's
repository is, also from inside DVC's temporary experiment copies; and where a scheduler's task
keeps what must outlive it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gan.config import Params

# A directory on a cluster's shared filesystem where Slurm tasks keep training's resumable
# state (gan.train.state.resume_mirror), so a requeued task finds it on any node.
CHECKPOINT_DIR_ENV = "GAN_CHECKPOINT_DIR"
# A file whose existence asks training to stop after the epoch in progress (gan.slurm's task
# script makes it when Slurm signals that the time limit is near).
STOP_FILE_ENV = "GAN_STOP_FILE"


def stop_requested() -> bool:
    """Whether the scheduler asked this run to stop at its next checkpoint."""
    path = os.environ.get(STOP_FILE_ENV)
    return bool(path) and Path(path).exists()


@dataclass(frozen=True)
class RunPaths:
    variant: str
    seed: int

    @classmethod
    def of(cls, params: Params, variant: str, seed: int | None) -> RunPaths:
        """The run a stage was asked for: SEED, or the first of `seeds` when none is given."""
        return cls(variant, params.seeds[0] if seed is None else seed)

    def _under(self, kind: str, ext: str = "") -> Path:
        return Path(kind) / self.variant / f"seed{self.seed}{ext}"

    @property
    def model(self) -> Path:        # the trained G and D (train -> sample, evaluate)
        return self._under("data/models", ".pt")

    @property
    def checkpoints(self) -> Path:  # resumable state (train)
        return self._under("data/checkpoints")

    @property
    def snapshots(self) -> Path:    # generator snapshots (train -> evaluate)
        return self._under("data/snapshots")

    @property
    def samples(self) -> Path:      # grid.png and training.gif (sample)
        return self._under("data/samples")

    @property
    def losses(self) -> Path:       # per-epoch losses (train)
        return self._under("metrics/train", ".csv")

    @property
    def metrics(self) -> Path:      # the final model's scores (evaluate -> report)
        return self._under("metrics/eval", ".json")

    @property
    def coverage(self) -> Path:     # scores of every snapshot (evaluate)
        return self._under("metrics/coverage", ".csv")

    def stage(self, name: str) -> str:  # the DVC stage of this run: train@dcgan_bn-1
        return f"{name}@{self.variant}-{self.seed}"

    @property
    def run_name(self) -> str:      # the MLflow run of this training run
        return f"{self.variant} seed{self.seed}"


def project_root(cwd: Path | None = None) -> Path:
    """The user's repository, also from inside DVC's temporary experiment copies."""
    if os.environ.get("DVC_ROOT"):
        return Path(os.environ["DVC_ROOT"]).resolve()
    cwd = (cwd or Path.cwd()).resolve()
    for path in (cwd, *cwd.parents):
        if path.name == "exps" and path.parent.name == "tmp" and path.parent.parent.name == ".dvc":
            return path.parent.parent.parent
    return cwd
