"""Discriminator options shared by the MLP and DCGAN families: normalisation by name, spectral
norm, PacGAN packing and the minibatch standard deviation feature."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from gan.registry import lookup


@dataclass(frozen=True)
class DNorm:
    # The layer after D's second weight layer: (features, spatial dims 1 or 2) -> module.
    features: Callable[[int, int], nn.Module]
    spectral: bool = False  # every weight of D scaled to spectral norm 1 (Miyato et al. 2018)


def _identity(n: int, dims: int) -> nn.Module:
    return nn.Identity()


D_NORMS: dict[str, DNorm] = {
    "none": DNorm(_identity),
    "batch": DNorm(lambda n, dims: nn.BatchNorm2d(n) if dims == 2 else nn.BatchNorm1d(n)),
    # Layer norm over each sample's features (all channels and positions of a feature map).
    "layer": DNorm(lambda n, dims: nn.GroupNorm(1, n) if dims == 2 else nn.LayerNorm(n)),
    "spectral": DNorm(_identity, spectral=True),
}


def get_d_norm(name: str) -> DNorm:
    """The D normalisation named `name`; an unknown name lists the valid ones."""
    return lookup(D_NORMS, name, "D normalisation")


WEIGHT_LAYERS = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.Embedding)


def spectral_norm_all(module: nn.Module) -> nn.Module:
    """Spectral norm on every weight layer of `module` (one power iteration per forward in
    training mode, torch's parametrization; transposed convolutions along their output dim)."""
    for layer in list(module.modules()):
        if isinstance(layer, WEIGHT_LAYERS):
            spectral_norm(layer)
    return module


def pack(x: torch.Tensor, m: int) -> torch.Tensor:
    """PacGAN: m consecutive samples side by side on the feature dim (dim 1), so D judges
    m samples at once. (B, F, ...) -> (B/m, m*F, ...). Reals and fakes go through D in
    separate calls (or as separate halves of a batch divisible by m), so a pack never mixes
    them."""
    if m == 1:
        return x
    if len(x) % m:
        raise ValueError(f"packing {m} samples per D input needs a batch divisible by {m}, "
                         f"got {len(x)}")
    return x.reshape(len(x) // m, m * x.shape[1], *x.shape[2:])


class MinibatchStd(nn.Module):
    """ProGAN's minibatch standard deviation (Karras et al. 2018): per group of `group`
    consecutive samples, the standard deviation of every feature over the group, averaged
    into one number, appended as one more constant feature (a channel for feature maps).
    (B, F) -> (B, F+1); (B, C, H, W) -> (B, C+1, H, W)."""

    def __init__(self, group: int) -> None:
        super().__init__()
        self.group = group

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        g = min(self.group, len(h))
        if len(h) % g:
            raise ValueError(f"minibatch std groups of {g} need a batch divisible by {g}, "
                             f"got {len(h)}")
        groups = h.float().reshape(len(h) // g, g, -1)                      # (B/g, g, F*)
        std = (groups.var(dim=1, unbiased=False) + 1e-8).sqrt().mean(dim=1)  # (B/g,)
        std = std.to(h.dtype).repeat_interleave(g)                          # (B,)
        feature = std.view(-1, 1, *([1] * (h.ndim - 2))).expand(-1, 1, *h.shape[2:])
        return torch.cat([h, feature], dim=1)
