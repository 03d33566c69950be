"""Building a GAN training run: the resolved per-variant config and the fresh training state.

Saving, resuming and snapshots are in `gan.train_files`; the loop is in `gan.training`."""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from gan.config import Params
from gan.generate import recalibrate_bn
from gan.models.gan_nets import GanArch, build_gan
from gan.runtime import seed_everything, to_device

log = logging.getLogger(__name__)

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
    lr_d_milestones: tuple[tuple[int, float], ...]  # (epoch, lr_d from then on), by epoch
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
    milestones = tuple(tuple(m) for m in data["lr_d_milestones"])
    return TrainConfig(**{**data, "model": GanArch(**data["model"]),
                          "lr_d_milestones": milestones})


def lr_d_at(cfg: TrainConfig, epochs_done: int) -> float:
    """D's learning rate for the epoch after `epochs_done`: the last milestone reached."""
    lr = cfg.lr_d
    for epoch, milestone_lr in cfg.lr_d_milestones:
        if epochs_done >= epoch:
            lr = milestone_lr
    return lr


def lr_scale(rule: str, batch_size: int, base_batch_size: int) -> float:
    """Learning-rate factor for a batch size other than the one the rates were tuned for:
    sqrt (the usual rule for Adam: gradient noise falls with the square root of the batch),
    linear (the SGD rule of Goyal et al., 2017), or none."""
    ratio = batch_size / base_batch_size
    return {"none": 1.0, "sqrt": ratio ** 0.5, "linear": ratio}[rule]


def train_config(params: Params, variant: str, seed: int) -> TrainConfig:
    """Resolve a variant's config for one seed: its own overrides win over the top-level
    knobs, and the learning rates are scaled for the batch size by `gan.lr_scaling`."""
    v, g = params.variant(variant), params.gan
    milestones = params.lr_d_milestones if v.lr_d_milestones is None else v.lr_d_milestones
    scale = lr_scale(g.lr_scaling, params.batch_size, g.base_batch_size)
    return TrainConfig(
        variant=variant, arch=v.arch,
        model=GanArch(z_dim=g.z_dim, width=v.width, conditional=v.conditional,
                      projection=v.projection, d_batchnorm=v.d_batchnorm,
                      channels=params.data.stack),
        seed=seed, epochs=v.epochs or params.epochs, batch_size=params.batch_size,
        lr_d=(v.lr_d or params.lr_d) * scale, lr_g=(v.lr_g or params.lr_g) * scale,
        lr_d_milestones=tuple((e, lr * scale) for e, lr in sorted(milestones.items())),
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
