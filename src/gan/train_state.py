"""GAN training state: the resolved per-variant config, and checkpoints that resume exactly."""

from __future__ import annotations

import copy
import hashlib
import importlib
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gan.checkpoint import load_checkpoint, save_checkpoint
from gan.config import Params
from gan.data import denormalize
from gan.errors import BadInputError
from gan.models import build_gan
from gan.models.gan_nets import GanArch
from gan.runtime import seed_everything, to_device

log = logging.getLogger(__name__)

GRID_SIDE = 10  # the fixed-noise grid is GRID_SIDE x GRID_SIDE; conditional: a row per class


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a variant's training run (stored in its checkpoints)."""

    variant: str
    arch: str
    model: GanArch
    seed: int
    epochs: int
    batch_size: int
    lr_d: float
    lr_g: float
    beta1: float
    beta2: float
    d_update: str
    label_smoothing: float
    ema_decay: float
    bf16: bool
    grid_every: int
    compile: str


def config_from_dict(data: dict[str, Any]) -> TrainConfig:
    """Rebuild a TrainConfig stored in a checkpoint (`asdict` form)."""
    return TrainConfig(**{**data, "model": GanArch(**data["model"])})


def lr_scale(rule: str, batch_size: int, base_batch_size: int) -> float:
    """Learning-rate factor for a batch size other than the one the rates were tuned for:
    sqrt (the usual rule for Adam: gradient noise falls with the square root of the batch),
    linear (the SGD rule of Goyal et al., 2017), or none."""
    ratio = batch_size / base_batch_size
    return {"none": 1.0, "sqrt": ratio ** 0.5, "linear": ratio}[rule]


def train_config(params: Params, variant: str) -> TrainConfig:
    """Resolve a variant's config: its own overrides win over the top-level knobs, and the
    learning rates are scaled for the batch size by `gan.lr_scaling`."""
    v, g = params.variant(variant), params.gan
    scale = lr_scale(g.lr_scaling, params.batch_size, g.base_batch_size)
    return TrainConfig(
        variant=variant, arch=v.arch,
        model=GanArch(z_dim=g.z_dim, width=v.width, conditional=v.conditional,
                      d_batchnorm=v.d_batchnorm),
        seed=params.seed, epochs=v.epochs or params.epochs, batch_size=params.batch_size,
        lr_d=(v.lr_d or params.lr_d) * scale, lr_g=(v.lr_g or params.lr_g) * scale,
        beta1=g.beta1, beta2=g.beta2, d_update=g.d_update, label_smoothing=g.label_smoothing,
        ema_decay=g.ema_decay, bf16=g.bf16, grid_every=g.grid_every, compile=g.compile,
    )


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
    history: list[dict[str, float]] = field(default_factory=list)
    frames: list[torch.Tensor] = field(default_factory=list)  # (100, 28, 28) uint8 each
    frame_epochs: list[int] = field(default_factory=list)     # the epoch of each frame
    run_id: str | None = None

    @property
    def sampler(self) -> nn.Module:
        """The generator used for samples and evaluation: the EMA copy when enabled."""
        return self.ema if self.ema is not None else self.G


def _optimizers(cfg: TrainConfig, G: nn.Module, D: nn.Module):
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
    opt_g, opt_d = _optimizers(cfg, G, D)
    ema = copy.deepcopy(G).requires_grad_(False) if cfg.ema_decay > 0 else None
    return TrainState(G, D, opt_g, opt_d, ema,
                      batch_gen=torch.Generator().manual_seed(cfg.seed),
                      noise_gen=torch.Generator(device=device).manual_seed(cfg.seed + 1))


def fixed_noise(cfg: TrainConfig, device: torch.device
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The grid's latent batch (100, z_dim), the same on every device; labels for conditional."""
    gen = torch.Generator().manual_seed(cfg.seed + 2)
    z = torch.randn(GRID_SIDE * GRID_SIDE, cfg.model.z_dim, generator=gen).to(device)
    labels = None
    if cfg.model.conditional:  # row k holds class k
        labels = torch.arange(GRID_SIDE, device=device).repeat_interleave(GRID_SIDE)
    return z, labels


@torch.no_grad()
def render(G: nn.Module, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """Generate in eval mode (BN running stats) and return uint8 images (N, 28, 28) on CPU."""
    was_training = G.training
    G.eval()
    images = denormalize(G(z, labels).float()).cpu()
    G.train(was_training)
    return images


# Modules whose code decides the trained weights: a checkpoint of other code is not resumed.
TRAINING_CODE = ("gan.train", "gan.train_state", "gan.models.gan_nets", "gan.data", "gan.runtime")


def fingerprint(images: torch.Tensor) -> str:
    """Hash of the training images and the training code, so a checkpoint is resumed only by
    the same run on the same data."""
    digest = hashlib.sha1(images.contiguous().cpu().numpy().tobytes())
    for name in TRAINING_CODE:
        digest.update(Path(importlib.import_module(name).__file__).read_bytes())
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
    opt_g, opt_d = _optimizers(cfg, G, D)
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


def load_trained(path: Path, device: torch.device, variant: str
                 ) -> tuple[nn.Module, TrainConfig, dict[str, Any]]:
    """A trained variant's sampling generator (the EMA copy when there is one, in eval mode),
    its config and the checkpoint's extra data (epoch, run_id, frames...), on the CPU."""
    models, extra = load_checkpoint(path, device, f"rerun `dvc repro train@{variant}`")
    G = models.get("generator_ema", models["generator"]).eval()
    return G, config_from_dict(extra["config"]), extra
