"""Known answers for the gradient penalties, on discriminators whose input gradient is known."""

import pytest
import torch
from torch import nn

from gan.train.loop import StepConfig
from gan.train.penalties import get_penalty


class LinearD(nn.Module):
    """D(x) = <w, x> with ||w|| = 1: its input gradient has unit norm everywhere."""

    def __init__(self, w):
        super().__init__()
        self.w = w

    def forward(self, x, labels=None):
        return x.flatten(1) @ self.w


class QuadraticD(nn.Module):
    """D(x) = c/2 ||x||^2: its input gradient is c x."""

    def __init__(self, c=1.0):
        super().__init__()
        self.c = c

    def forward(self, x, labels=None):
        return 0.5 * self.c * x.flatten(1).square().sum(1)


def test_gradient_penalty_is_zero_for_unit_gradient_and_its_formula_on_a_quadratic_d():
    real, fake = torch.randn(6, 1, 28, 28), torch.randn(6, 1, 28, 28)
    w = torch.randn(784)
    gp = get_penalty("wgan_gp")
    assert gp(LinearD(w / w.norm()), real, fake, None, torch.Generator().manual_seed(0)).item() \
        == pytest.approx(0.0, abs=1e-8)
    eps = torch.rand(6, 1, 1, 1, generator=torch.Generator().manual_seed(1))
    x_hat = eps * real + (1 - eps) * fake
    want = ((2.0 * x_hat.flatten(1).norm(dim=1) - 1) ** 2).mean().item()
    got = gp(QuadraticD(2.0), real, fake, None, torch.Generator().manual_seed(1)).item()
    assert got == pytest.approx(want, rel=1e-5)


def test_r1_is_gamma_over_two_times_the_squared_input_gradient_norm():
    real, gamma, c = torch.randn(5, 1, 28, 28), 10.0, 3.0
    want = gamma / 2 * (c * real.flatten(1)).square().sum(1).mean().item()
    step = StepConfig(penalty="r1", penalty_weight=gamma)
    got = step.penalty_weight * get_penalty("r1")(QuadraticD(c), real, real, None, None)
    assert got.item() == pytest.approx(want, rel=1e-5)


def test_an_unknown_penalty_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown penalty 'r2'; valid: \[.*'r1'"):
        get_penalty("r2")
