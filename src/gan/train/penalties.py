"""Discriminator penalties by name (compare_gan's penalty_lib, written for this loop).

A penalty returns its unweighted term; the D step adds `penalty_weight` times it to D's loss
on reals (the weight is lambda for wgan_gp, gamma for r1). Computed in float32, outside
autocast: they differentiate through D's input gradient.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from gan.registry import lookup

Penalty = Callable[..., torch.Tensor]


def _input_grad(D: nn.Module, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """dD/dx per sample, kept in the graph (create_graph) so the penalty trains D. -> (B, -1)"""
    x = x.detach().float().requires_grad_(True)
    out = D(x, labels)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad.flatten(1)


def no_penalty(D: nn.Module, real: torch.Tensor, fake: torch.Tensor,
               real_labels: torch.Tensor | None, generator: torch.Generator) -> torch.Tensor:
    return real.new_zeros((), dtype=torch.float32)


def wgan_gp(D: nn.Module, real: torch.Tensor, fake: torch.Tensor,
            real_labels: torch.Tensor | None, generator: torch.Generator) -> torch.Tensor:
    """Gulrajani et al. 2017: E[(||grad D(x_hat)|| - 1)^2] at x_hat = eps real + (1 - eps) fake,
    eps ~ U(0, 1) per sample (drawn from the run's generator); conditional D sees the reals'
    labels."""
    eps = torch.rand(len(real), 1, 1, 1, generator=generator, device=real.device)  # (B,1,1,1)
    x_hat = eps * real.float() + (1.0 - eps) * fake.float()
    grad = _input_grad(D, x_hat, real_labels)
    return (grad.norm(dim=1) - 1.0).square().mean()


def r1(D: nn.Module, real: torch.Tensor, fake: torch.Tensor,
       real_labels: torch.Tensor | None, generator: torch.Generator) -> torch.Tensor:
    """Mescheder et al. 2018: 1/2 E[||grad D(x)||^2] on reals (gamma/2 with the weight)."""
    return 0.5 * _input_grad(D, real, real_labels).square().sum(1).mean()


PENALTIES: dict[str, Penalty] = {"none": no_penalty, "wgan_gp": wgan_gp, "r1": r1}


def get_penalty(name: str) -> Penalty:
    """The penalty named `name`; an unknown name lists the valid ones."""
    return lookup(PENALTIES, name, "penalty")
