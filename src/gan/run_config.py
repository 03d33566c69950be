"""The resolved config of one training run: built from params.yaml by `train_config` (a
variant's overrides over the top-level knobs), stored in every checkpoint of the run, and
rebuilt from one by `config_from_dict` (the read side needs no training code)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gan.config import Params
from gan.models.gan_nets import GanArch


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
    # Remedies (see gan.train.losses, .penalties, .augment; network options are in `model`).
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


def train_config(params: Params, variant: str, seed: int) -> TrainConfig:
    """Resolve a variant's config for one seed: its own overrides win over the top-level
    knobs, and the learning rates are scaled for the batch size by `gan.lr_scaling`."""
    v, g = params.variant(variant), params.gan
    milestones = params.lr_d_milestones if v.lr_d_milestones is None else v.lr_d_milestones
    scale = lr_scale(g.lr_scaling, params.batch_size, g.base_batch_size)
    return TrainConfig(
        variant=variant, arch=v.arch,
        model=GanArch(z_dim=g.z_dim, width=v.width, d_width=v.d_width, conditional=v.conditional,
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
