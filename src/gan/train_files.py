"""Saving and resuming GAN training: the resumable checkpoint, the final model, and the
generator snapshots that the evaluate stage scores.

All are self-describing checkpoints (`gan.checkpoint`), read on the CPU (`gan.torch_files`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gan.atomic import atomic_file
from gan.checkpoint import load_checkpoint, save_checkpoint
from gan.deps import PACKAGE_DIR, closure
from gan.errors import BadInputError
from gan.mlflow_store import project_root
from gan.train_state import TrainConfig, TrainState, config_from_dict, make_optimizers

log = logging.getLogger(__name__)

SNAPSHOT = re.compile(r"epoch_(\d+)\.pt")
TRAIN_STAGE = PACKAGE_DIR / "stages" / "train.py"


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
                       epoch=extra["epoch"], history=list(extra["history"]),
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


def load_trained(path: Path, device: torch.device, train_stage: str
                 ) -> tuple[nn.Module, TrainConfig, dict[str, Any]]:
    """A trained run's sampling generator (the EMA copy when there is one, in eval mode),
    its config and the checkpoint's extra data (epoch, run_id, frames...), on the CPU.
    TRAIN_STAGE (train@dcgan-0) is what an error about a bad file tells the user to rerun."""
    models, extra = load_checkpoint(path, device, f"rerun `dvc repro {train_stage}`")
    G = models.get("generator_ema", models["generator"]).eval()
    return G, config_from_dict(extra["config"]), extra


def snapshot_path(directory: Path, epoch: int) -> Path:
    return directory / f"epoch_{epoch:04d}.pt"


def save_snapshot(directory: Path, state: TrainState, cfg: TrainConfig) -> Path:
    """A generator snapshot of this epoch (the sampler: EMA copy when enabled) with its config:
    small, and scored later by the evaluate stage."""
    path = snapshot_path(directory, state.epoch)
    save_checkpoint(path, {"generator": state.sampler},
                    extra={"config": asdict(cfg), "epoch": state.epoch, "run_id": state.run_id})
    return path


def snapshots(directory: Path) -> list[tuple[int, Path]]:
    """(epoch, path) of every snapshot in `directory`, by epoch."""
    found = [(int(m.group(1)), p) for p in directory.glob("epoch_*.pt")
             if (m := SNAPSHOT.fullmatch(p.name))]
    return sorted(found)


def prune_snapshots(directory: Path, after_epoch: int) -> None:
    """Delete snapshots later than `after_epoch` (all of them when training starts afresh)."""
    for epoch, path in snapshots(directory):
        if epoch > after_epoch:
            path.unlink()


def resume_mirror(cfg: TrainConfig, run_key: str) -> Path | None:
    """Where a run in one of DVC's temporary experiment copies (queued, `--temp`) also keeps
    its resumable state: DVC deletes the copy, checkpoints included, when the run fails or is
    killed. The mirror lives in the user's repository, `.dvc/tmp/gan-resume/<key>`, keyed by
    config, data and code, so the same experiment queued again resumes. None in the repository
    itself (there `data/checkpoints/` persists)."""
    root = project_root()
    if root == Path.cwd().resolve():
        return None
    config = json.dumps(asdict(cfg), sort_keys=True, default=str)
    key = hashlib.sha1((run_key + config).encode()).hexdigest()[:16]
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
