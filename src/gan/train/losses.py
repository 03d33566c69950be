"""GAN losses by name (compare_gan's loss_lib, written for this loop).

Each loss gives D's loss on real and on fake logits separately (the split D update takes two
optimizer steps) and G's loss on the logits of its fakes. Logits are D's raw outputs (B,);
every loss returns the batch mean as a float32 scalar.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from gan.registry import lookup

Logits = torch.Tensor


@dataclass(frozen=True)
class Loss:
    d_real: Callable[[Logits, float], torch.Tensor]  # (logits on reals, real target) -> loss
    d_fake: Callable[[Logits], torch.Tensor]
    g: Callable[[Logits], torch.Tensor]
    smoothing: bool = False  # whether one-sided label smoothing (the real target) applies


def _bce(logits: Logits, target: float) -> torch.Tensor:
    logits = logits.float()
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def _f(logits: Logits) -> Logits:
    return logits.float()


LOSSES: dict[str, Loss] = {
    # Goodfellow et al. 2014 with G maximising log D(G(z)): today's default.
    "non_saturating": Loss(d_real=_bce, d_fake=lambda f: _bce(f, 0.0),
                           g=lambda f: _bce(f, 1.0), smoothing=True),
    # The original minimax game: G minimises log(1 - D(G(z))) = -softplus(f).
    "minimax": Loss(d_real=_bce, d_fake=lambda f: _bce(f, 0.0),
                    g=lambda f: -F.softplus(_f(f)).mean(), smoothing=True),
    # Lim & Ye 2017; Miyato et al. 2018 (with spectral norm).
    "hinge": Loss(d_real=lambda r, _t: F.relu(1.0 - _f(r)).mean(),
                  d_fake=lambda f: F.relu(1.0 + _f(f)).mean(), g=lambda f: -_f(f).mean()),
    # Least squares, Mao et al. 2017 (a=0, b=c=1): D pushes reals to 1 and fakes to 0.
    "least_squares": Loss(d_real=lambda r, _t: 0.5 * (_f(r) - 1.0).square().mean(),
                          d_fake=lambda f: 0.5 * _f(f).square().mean(),
                          g=lambda f: 0.5 * (_f(f) - 1.0).square().mean()),
    # Arjovsky et al. 2017: D is a critic; pair it with penalty: wgan_gp (Gulrajani et al. 2017).
    "wasserstein": Loss(d_real=lambda r, _t: -_f(r).mean(), d_fake=lambda f: _f(f).mean(),
                        g=lambda f: -_f(f).mean()),
}


def get_loss(name: str) -> Loss:
    """The loss named `name`; an unknown name lists the valid ones."""
    return lookup(LOSSES, name, "loss")
