"""A GAN training run's state and its files: the fresh or resumed state (networks, optimizers,
RNG, history, animation frames), and everything an epoch writes (frame, generator snapshot,
resumable checkpoint, its mirror, the losses CSV) in one call, `RunFiles.write_epoch`.

All files are self-describing checkpoints (`gan.checkpoint`), read on the CPU (`gan.files`);
`gan.trained` reads the final model and the snapshots for the stages that score them.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gan.checkpoint import load_checkpoint, save_checkpoint
from gan.deps import PACKAGE_DIR, closure
from gan.errors import BadInputError
from gan.files import atomic_file, write_text
from gan.generate import recalibrate_bn
from gan.layout import CHECKPOINT_DIR_ENV, project_root
from gan.models.gan_nets import build_gan
from gan.run_config import TrainConfig
from gan.run_tree import experiment_name
from gan.runtime import seed_everything, to_device
from gan.trained import snapshot_path, snapshots

log = logging.getLogger(__name__)

TRAIN_STAGE = PACKAGE_DIR / "stages" / "train.py"


@dataclass
class TrainState:
    G: nn.Module
    D: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    ema: nn.Module | None
    batch_gen: torch.Generator   # CPU: batch order
    noise_gen: torch.Generator   # on the training device: latent noise and fake labels
    epoch: int = 0
    step: int = 0                # batches trained (D steps), the x axis of convergence curves
    history: list[dict[str, float]] = field(default_factory=list)
    frames: list[torch.Tensor] = field(default_factory=list)  # (100, 28, 28) uint8 each
    frame_epochs: list[int] = field(default_factory=list)     # the epoch of each frame
    run_id: str | None = None

    @property
    def sampler(self) -> nn.Module:  # see ready_sampler for the EMA's batch-norm statistics
        """The generator used for samples and evaluation: the EMA copy when enabled."""
        return self.ema if self.ema is not None else self.G


def make_optimizers(cfg: TrainConfig, G: nn.Module, D: nn.Module):
    """Adam for G and D; fused (one kernel for all parameters) where torch has it."""
    betas = (cfg.beta1, cfg.beta2)
    fused = next(G.parameters()).device.type in ("cpu", "cuda") or None
    return (torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=betas, fused=fused),
            torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=betas, fused=fused))


def add_frame(state: TrainState, frame: torch.Tensor) -> None:
    state.frames.append(frame)
    state.frame_epochs.append(state.epoch)


def init_state(cfg: TrainConfig, device: torch.device) -> TrainState:
    seed_everything(cfg.seed)
    G, D = (to_device(m, device) for m in build_gan(cfg.arch, cfg.model))
    opt_g, opt_d = make_optimizers(cfg, G, D)
    ema = copy.deepcopy(G).requires_grad_(False) if cfg.ema_decay > 0 else None
    return TrainState(G, D, opt_g, opt_d, ema,
                      batch_gen=torch.Generator().manual_seed(cfg.seed),
                      noise_gen=torch.Generator(device=device).manual_seed(cfg.seed + 1))


def ready_sampler(state: TrainState, cfg: TrainConfig, device: torch.device) -> nn.Module:
    """The sampler, ready to render or save: the EMA copy gets batch-norm statistics of its
    own weights (recomputed; seeded by epoch, so a resumed run matches an uninterrupted one)."""
    if state.ema is not None:
        recalibrate_bn(state.ema, device, seed=cfg.seed * 100_003 + state.epoch)
    return state.sampler


def fingerprint(images: torch.Tensor) -> str:
    """Hash of the training images and of every source file the train stage runs (the same
    files DVC watches), so a checkpoint is resumed only by the same run on the same data."""
    digest = hashlib.sha1(images.contiguous().cpu().numpy().tobytes())
    for path in closure(TRAIN_STAGE):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def save_state(path: Path, state: TrainState, cfg: TrainConfig, run_key: str) -> None:
    models = {"generator": state.G, "discriminator": state.D}
    if state.ema is not None:
        models["generator_ema"] = state.ema
    rng = {"batch_gen": state.batch_gen.get_state(), "noise_gen": state.noise_gen.get_state(),
           "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    save_checkpoint(path, models, extra={
        "config": asdict(cfg), "fingerprint": run_key, "epoch": state.epoch,
        "step": state.step,
        "history": state.history, "frames": torch.stack(state.frames),
        "frame_epochs": state.frame_epochs, "run_id": state.run_id,
        "opt_g": state.opt_g.state_dict(), "opt_d": state.opt_d.state_dict(), "rng": rng,
    })


def load_state(path: Path, cfg: TrainConfig, device: torch.device,
               run_key: str) -> TrainState | None:
    """Resume from `path` if it holds an unfinished run of this exact config, data and code
    (`run_key`, see fingerprint()); else None. A finished run is never resumed: the stage is
    re-run because something changed, or was forced, and trains afresh."""
    if not path.is_file():
        return None
    try:
        models, extra = load_checkpoint(path, device)
    except BadInputError as exc:  # e.g. truncated by a full disk: keep it for a look, start anew
        aside = path.with_name(path.name + ".corrupt")
        path.replace(aside)
        log.warning("%s; moved aside to %s, starting afresh", exc, aside)
        return None
    if extra.get("config") != asdict(cfg) or extra.get("fingerprint") != run_key:
        log.info("%s: written for another config, data or code; starting afresh", path)
        return None
    if extra["epoch"] >= cfg.epochs:
        log.info("%s: holds a finished run; starting afresh", path)
        return None
    G, D = models["generator"], models["discriminator"]
    opt_g, opt_d = make_optimizers(cfg, G, D)
    opt_g.load_state_dict(extra["opt_g"])
    opt_d.load_state_dict(extra["opt_d"])
    ema = models.get("generator_ema")
    if ema is not None:
        ema.requires_grad_(False)
    state = TrainState(G, D, opt_g, opt_d, ema,
                       batch_gen=torch.Generator(), noise_gen=torch.Generator(device=device),
                       epoch=extra["epoch"], step=extra["step"],
                       history=list(extra["history"]),
                       frames=list(extra["frames"]), frame_epochs=list(extra["frame_epochs"]),
                       run_id=extra["run_id"])
    _restore_rng(state, extra["rng"])
    log.info("%s: resuming after epoch %d of %d", path, state.epoch, cfg.epochs)
    return state


def _restore_rng(state: TrainState, rng: dict[str, Any]) -> None:
    state.batch_gen.set_state(rng["batch_gen"])
    state.noise_gen.set_state(rng["noise_gen"])
    torch.set_rng_state(rng["torch"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])


def save_snapshot(directory: Path, state: TrainState, cfg: TrainConfig) -> Path:
    """A generator snapshot of this epoch (the sampler: EMA copy when enabled) with its config:
    small, and scored later by the evaluate stage."""
    path = snapshot_path(directory, state.epoch)
    save_checkpoint(path, {"generator": state.sampler},
                    extra={"config": asdict(cfg), "epoch": state.epoch, "step": state.step,
                           "run_id": state.run_id})
    return path


def prune_snapshots(directory: Path, after_epoch: int) -> None:
    """Delete snapshots later than `after_epoch` (all of them when training starts afresh)."""
    for epoch, path in snapshots(directory):
        if epoch > after_epoch:
            path.unlink()


def resume_mirror(cfg: TrainConfig, run_key: str) -> Path | None:
    """Where a run also keeps its resumable state, outside the copy DVC runs it in.

    With GAN_CHECKPOINT_DIR set (a Slurm task: a directory on the cluster's shared filesystem),
    `<dir>/<DVC experiment>/train@<variant>-<seed>-<key>`: a requeued task, in a fresh clone
    on any node, resumes there; `gan queue --slurm` removes `<dir>/<experiment>` once the
    experiment is pushed. Otherwise, in one of DVC's temporary experiment copies (queued,
    `--temp`: DVC deletes the copy, checkpoints included, when the run fails or is killed),
    the user's repository's `.dvc/tmp/gan-resume/<variant>-<key>`, so the same experiment queued
    again resumes. The key hashes config, data and code. None in the repository itself (there
    `data/checkpoints/` persists)."""
    config = json.dumps(asdict(cfg), sort_keys=True, default=str)
    key = hashlib.sha1((run_key + config).encode()).hexdigest()[:16]
    if shared := os.environ.get(CHECKPOINT_DIR_ENV):
        where = Path(shared) / (experiment_name() or "workspace")
        return where / f"train@{cfg.variant}-{cfg.seed}-{key}"
    root = project_root()
    if root == Path.cwd().resolve():
        return None
    return root / ".dvc" / "tmp" / "gan-resume" / f"{cfg.variant}-{key}"


def _copy(src: Path, dst: Path) -> None:
    with atomic_file(dst) as tmp:
        shutil.copyfile(src, tmp)


def save_mirror(mirror: Path, last: Path, snapshot_dir: Path) -> None:
    """Copy the resumable state and the snapshots not yet mirrored (after each epoch)."""
    for _, path in snapshots(snapshot_dir):
        if not (mirror / "snapshots" / path.name).exists():
            _copy(path, mirror / "snapshots" / path.name)
    _copy(last, mirror / "last.pt")


def restore_mirror(mirror: Path, last: Path, snapshot_dir: Path) -> None:
    """Bring a mirrored run's state back into a new copy that has none."""
    if last.exists() or not (mirror / "last.pt").is_file():
        return
    for _, path in snapshots(mirror / "snapshots"):
        _copy(path, snapshot_dir / path.name)
    _copy(mirror / "last.pt", last)
    log.info("%s: restored from %s, left by an earlier run of this experiment", last, mirror)


def history_csv(history: list[dict[str, float]]) -> str:
    """The losses CSV: a line per epoch, columns as the history rows (epoch, then the loop's
    figures)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(history[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    return buf.getvalue()


def snapshot_due(epoch: int, epochs: int, every: int) -> bool:
    """Snapshots at multiples of eval.eval_every and at the last epoch (0: the last only)."""
    return epoch == epochs or (every > 0 and epoch % every == 0)


@dataclass(frozen=True)
class RunFiles:
    """Where one training run writes (see gan.layout for the defaults), and what it writes."""

    state_dir: Path       # last.pt, the resumable checkpoint
    snapshot_dir: Path    # generator snapshots, scored by the evaluate stage
    metrics_csv: Path     # the losses of every epoch
    run_key: str          # fingerprint(): a checkpoint resumes only the same data and code
    eval_every: int       # epochs between snapshots
    mirror: Path | None   # resume_mirror(): only inside DVC's temporary experiment copies

    @property
    def last(self) -> Path:
        return self.state_dir / "last.pt"

    def start(self, cfg: TrainConfig, device: torch.device) -> TrainState:
        """The state to train from: resumed (from last.pt, or from the mirror an earlier copy
        of this experiment left) or fresh; snapshots after its epoch are pruned."""
        if self.mirror is not None:
            restore_mirror(self.mirror, self.last, self.snapshot_dir)
        state = load_state(self.last, cfg, device, self.run_key) or init_state(cfg, device)
        prune_snapshots(self.snapshot_dir, after_epoch=state.epoch)  # none survive a fresh start
        return state

    def write_epoch(self, state: TrainState, cfg: TrainConfig, device: torch.device,
                    row: dict[str, float], frame: Callable[[nn.Module], torch.Tensor],
                    log_epoch: Callable[[], None]) -> None:
        """Everything an epoch writes, in the order that loses nothing: its history row; the
        animation frame (`frame(sampler)`) and the generator snapshot when due; `log_epoch`
        (MLflow: a lost store stops training here, before the checkpoint, so a resume never
        logs a point twice); the checkpoint (after the snapshot: a resume never misses one),
        its mirror and the losses CSV."""
        state.history.append({"epoch": state.epoch, **row})
        sampler = ready_sampler(state, cfg, device)
        if state.epoch % cfg.grid_every == 0 or state.epoch == cfg.epochs:
            add_frame(state, frame(sampler))
        if snapshot_due(state.epoch, cfg.epochs, self.eval_every):
            save_snapshot(self.snapshot_dir, state, cfg)
        log_epoch()
        save_state(self.last, state, cfg, self.run_key)
        if self.mirror is not None:
            save_mirror(self.mirror, self.last, self.snapshot_dir)
        write_text(self.metrics_csv, history_csv(state.history))

    def finish(self, out: Path, state: TrainState, cfg: TrainConfig) -> None:
        """The trained run: its final model (and the complete losses CSV)."""
        save_state(out, state, cfg, self.run_key)
        write_text(self.metrics_csv, history_csv(state.history))

    def drop_mirror(self) -> None:
        """A finished run leaves nothing to resume; on a cluster's shared directory the state
        stays until the experiment is pushed (a task requeued before its push would otherwise
        train again from epoch 0)."""
        if self.mirror is not None and not os.environ.get(CHECKPOINT_DIR_ENV):
            shutil.rmtree(self.mirror, ignore_errors=True)
