"""Building a GAN training run: the resolved per-variant config and the fresh training state.

Saving, resuming and snapshots are in `gan.train_files`; the loop is in `gan.training`."""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from gan.augment import AUGMENTS
from gan.config import ConfigError, Params
from gan.generate import recalibrate_bn
from gan.losses import LOSSES
from gan.models.d_options import D_NORMS
from gan.models.gan_nets import GanArch, build_gan
from gan.penalties import PENALTIES
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
    # Remedies (see gan.losses, gan.penalties, gan.augment; network options are in `model`).
    loss: str
    penalty: str
    penalty_weight: float
    n_critic: int                # D steps per G step
    augment: tuple[str, ...]     # DiffAugment policy, applied in order


def config_from_dict(data: dict[str, Any]) -> TrainConfig:
    """Rebuild a TrainConfig stored in a checkpoint (`asdict` form)."""
    milestones = tuple(tuple(m) for m in data["lr_d_milestones"])
    return TrainConfig(**{**data, "model": GanArch(**data["model"]),
                          "lr_d_milestones": milestones, "augment": tuple(data["augment"])})


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


def check_remedies(params: Params) -> None:
    """Every variant's remedy names against their registries, and what packing and minibatch
    std need of the batch; one clear line naming the key, before any training."""
    named = {"loss": LOSSES, "penalty": PENALTIES, "d_norm": D_NORMS}
    for name, v in params.variants.items():
        where = f"params.yaml: 'variants.{name}"
        for key, registry in named.items():
            if getattr(v, key) not in registry:
                raise ConfigError(f"{where}.{key}' must be one of {sorted(registry)}, got "
                                  f"{getattr(v, key)!r}")
        unknown = [a for a in v.augment if a not in AUGMENTS]
        if unknown:
            raise ConfigError(f"{where}.augment' has unknown augmentation(s) {unknown}; valid: "
                              f"{sorted(AUGMENTS)}")
        if params.gan.label_smoothing and not LOSSES[v.loss].smoothing:
            raise ConfigError(f"params.yaml: 'gan.label_smoothing' applies to the BCE losses "
                              f"(non_saturating, minimax); variant {name} uses {v.loss}: set "
                              "gan.label_smoothing: 0")
        per_d = params.batch_size // v.pack
        if params.batch_size % v.pack or (v.mbstd_group and per_d % min(v.mbstd_group, per_d)):
            raise ConfigError(f"{where}': batch_size {params.batch_size} must split into packs "
                              f"of {v.pack} and minibatch-std groups of {v.mbstd_group}")
        if v.pack > 1 and v.projection:
            raise ConfigError(f"{where}.pack' needs a D without projection (packing scores "
                              "several samples at once, projection one sample's label)")


def train_config(params: Params, variant: str, seed: int) -> TrainConfig:
    """Resolve a variant's config for one seed: its own overrides win over the top-level
    knobs, and the learning rates are scaled for the batch size by `gan.lr_scaling`."""
    check_remedies(params)
    v, g = params.variant(variant), params.gan
    milestones = params.lr_d_milestones if v.lr_d_milestones is None else v.lr_d_milestones
    scale = lr_scale(g.lr_scaling, params.batch_size, g.base_batch_size)
    return TrainConfig(
        variant=variant, arch=v.arch,
        model=GanArch(z_dim=g.z_dim, width=v.width, conditional=v.conditional,
                      projection=v.projection, d_norm=v.d_norm, g_spectral=v.g_spectral,
                      pack=v.pack, mbstd_group=v.mbstd_group, channels=params.data.stack),
        seed=seed, epochs=v.epochs or params.epochs, batch_size=params.batch_size,
        lr_d=(v.lr_d or params.lr_d) * scale, lr_g=(v.lr_g or params.lr_g) * scale,
        lr_d_milestones=tuple((e, lr * scale) for e, lr in sorted(milestones.items())),
        beta1=g.beta1 if v.beta1 is None else v.beta1,
        beta2=g.beta2 if v.beta2 is None else v.beta2,
        d_update=g.d_update, label_smoothing=g.label_smoothing,
        ema_decay=g.ema_decay, bf16=g.bf16, grid_every=g.grid_every, compile=g.compile,
        loss=v.loss, penalty=v.penalty, penalty_weight=v.penalty_weight, n_critic=v.n_critic,
        augment=tuple(v.augment),
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
