"""Known answers for every loss: each equals its formula on fixed logits."""

import math

import pytest
import torch

from gan.train.losses import LOSSES, get_loss

R = [-1.0, 0.5, 2.0]   # D's logits on reals
F_ = [0.3, -2.0, 1.0]  # and on fakes


def mean(values):
    return sum(values) / len(values)


def softplus(v):
    return math.log1p(math.exp(v))


def sigmoid(v):
    return 1 / (1 + math.exp(-v))


EXPECTED = {  # (d_real at target 1, d_fake, g) from the formulas, in plain Python
    "non_saturating": (mean([softplus(-r) for r in R]), mean([softplus(f) for f in F_]),
                       mean([softplus(-f) for f in F_])),
    "minimax": (mean([softplus(-r) for r in R]), mean([softplus(f) for f in F_]),
                mean([math.log(1 - sigmoid(f)) for f in F_])),
    "hinge": (mean([max(0, 1 - r) for r in R]), mean([max(0, 1 + f) for f in F_]),
              -mean(F_)),
    "least_squares": (mean([0.5 * (r - 1) ** 2 for r in R]), mean([0.5 * f ** 2 for f in F_]),
                      mean([0.5 * (f - 1) ** 2 for f in F_])),
    "wasserstein": (-mean(R), mean(F_), -mean(F_)),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_each_loss_equals_its_formula_on_fixed_logits(name):
    loss, r, f = get_loss(name), torch.tensor(R), torch.tensor(F_)
    got = (loss.d_real(r, 1.0).item(), loss.d_fake(f).item(), loss.g(f).item())
    assert got == pytest.approx(EXPECTED[name], rel=1e-5)


def test_label_smoothing_is_the_bce_real_target():
    t = 0.9
    want = mean([-(t * math.log(sigmoid(r)) + (1 - t) * math.log(1 - sigmoid(r))) for r in R])
    assert get_loss("non_saturating").d_real(torch.tensor(R), t).item() == pytest.approx(want)


def test_an_unknown_loss_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown loss 'hing'; valid: \[.*'hinge'"):
        get_loss("hing")
