"""Known answers for every remedy: losses, penalties, D normalisations, packing, minibatch std,
DiffAugment; each remedy trains to finite losses and resumes exactly."""

import math
import shutil

import pytest
import torch
from dvc.utils.hydra import apply_overrides
from torch import nn

from gan.augment import augment, cut, cutout_corners, translation_shifts
from gan.config import ConfigError, GanConfig, Params, VariantConfig, load_params
from gan.data import normalize
from gan.losses import LOSSES, get_loss
from gan.models.d_options import WEIGHT_LAYERS, MinibatchStd, pack
from gan.models.gan_nets import GanArch, build_gan
from gan.penalties import get_penalty
from gan.remedies import STUDY, study_overrides
from gan.remedy_tags import remedy_tags
from gan.stages.remedies import experiment_args
from gan.train_files import load_state, save_state
from gan.train_state import check_remedies, init_state, train_config
from gan.training import StepConfig, d_step, train
from tests.conftest import REPO

CPU = torch.device("cpu")

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


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown loss 'hing'; valid: \[.*'hinge'"):
        get_loss("hing")
    with pytest.raises(ValueError, match=r"unknown penalty 'r2'; valid: \[.*'r1'"):
        get_penalty("r2")
    with pytest.raises(ValueError, match=r"unknown D normalisation 'group'.*'spectral'"):
        GanArch(d_norm="group")
    with pytest.raises(ValueError, match=r"unknown augmentation\(s\) \['flip'\].*'cutout'"):
        StepConfig(augment=("flip",))


def largest_singular_value(layer: nn.Module) -> float:
    """Measured on the weight the layer computes with, reshaped as torch normalises it (a
    transposed convolution along its output channels, dim 1)."""
    w = layer.weight.detach()
    if isinstance(layer, nn.ConvTranspose2d):
        w = w.transpose(0, 1)
    return torch.linalg.matrix_norm(w.reshape(w.shape[0], -1), ord=2).item()


@pytest.mark.parametrize("arch_name", ["mlp", "dcgan"])
def test_spectral_norm_bounds_every_weight_of_d_and_g_by_one(arch_name):
    torch.manual_seed(0)
    arch = GanArch(width=8, conditional=True, projection=True, d_norm="spectral",
                   g_spectral=True)
    plain = build_gan(arch_name, GanArch(width=8, conditional=True, projection=True))
    G, D = build_gan(arch_name, arch)
    for _ in range(30):  # power iterations run in training-mode forwards
        labels = torch.randint(10, (16,))
        D(G(torch.randn(16, 100), labels), labels)
    for net, unnormalised in zip((G, D), plain, strict=True):
        layers = [m for m in net.modules() if isinstance(m, WEIGHT_LAYERS)]
        assert layers
        sigmas = [largest_singular_value(m) for m in layers]
        assert max(sigmas) <= 1.05 and min(sigmas) >= 0.9, sigmas
        raw = [largest_singular_value(m) for m in unnormalised.modules()
               if isinstance(m, WEIGHT_LAYERS)]
        assert max(raw) > 1.5  # the bound is the remedy's doing


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


class ConstG(nn.Module):
    """A 'generator' of all -1 images, so a pack's origin can be read from its pixels."""

    def forward(self, z, labels=None):
        return -torch.ones(len(z), 1, 28, 28) + 0 * z.sum()


@pytest.mark.parametrize("mode", ["split", "joint"])
def test_packing_keeps_reals_with_reals(mode):
    m = 4
    D = build_gan("dcgan", GanArch(width=8, pack=m))[1]
    seen = []
    D.net[0].register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach()))
    opt = torch.optim.Adam(D.parameters())
    d_step(ConstG(), D, opt, torch.ones(16, 1, 28, 28), torch.randn(16, 100),
           StepConfig(d_update=mode))
    packs = torch.cat(seen)                                  # (packs, m, 28, 28)
    assert packs.shape[1:] == (m, 28, 28) and len(packs) == 2 * 16 // m
    per_pack = packs.flatten(1)
    real = (per_pack == 1).all(1)
    assert int(real.sum()) == 16 // m and bool((real | (per_pack == -1).all(1)).all())


def test_pack_needs_a_divisible_batch():
    with pytest.raises(ValueError, match="divisible by 3"):
        pack(torch.zeros(8, 1, 28, 28), 3)


def test_minibatch_std_feature_equals_the_group_std_computed_independently():
    h = torch.randn(8, 4, 3, 3, dtype=torch.float64)
    out = MinibatchStd(group=4)(h)
    assert out.shape == (8, 5, 3, 3) and torch.equal(out[:, :4], h)
    for g in range(2):
        group = h[4 * g:4 * g + 4].flatten(1).numpy()   # 4 samples x 36 features
        want = group.std(axis=0).mean()                   # population std per feature
        assert torch.allclose(out[4 * g:4 * g + 4, 4], torch.tensor(want), atol=1e-6)


def test_translation_moves_a_known_image_by_the_drawn_offset():
    x = torch.zeros(3, 1, 28, 28)
    x[:, 0, 10, 12] = 1.0
    shifts = translation_shifts(3, 28, torch.Generator().manual_seed(5), torch.device("cpu"))
    assert shifts.abs().max() <= 4
    out = augment(x, ["translation"], torch.Generator().manual_seed(5))
    for b, (dy, dx) in enumerate(shifts.tolist()):
        assert out[b, 0, 10 + dy, 12 + dx] == 1.0 and out[b].sum() == 1.0


def test_cutout_zeroes_a_square_of_half_the_side_at_the_drawn_corner():
    x = torch.ones(64, 2, 28, 28)
    out = augment(x, ["cutout"], torch.Generator().manual_seed(3))
    corners = cutout_corners(64, 28, torch.Generator().manual_seed(3), torch.device("cpu"))
    assert torch.equal(out, cut(x, corners))
    for b, (y0, x0) in enumerate(corners.tolist()):
        rows = range(max(y0, 0), min(y0 + 14, 28))
        cols = range(max(x0, 0), min(x0 + 14, 28))
        assert int((out[b, 0] == 0).sum()) == len(rows) * len(cols)
        if rows and cols:
            assert out[b, :, rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].abs().sum() == 0
    inside = [(y0, x0) for y0, x0 in corners.tolist() if 0 <= y0 <= 14 and 0 <= x0 <= 14]
    assert inside  # some squares lie wholly inside: exactly 14 x 14 zeroed
    b = corners.tolist().index(list(inside[0]))
    assert int((out[b, 0] == 0).sum()) == 14 * 14


def test_augmentations_keep_the_gradient_to_the_generator():
    x = torch.randn(4, 1, 28, 28, requires_grad=True)
    out = augment(x, ["brightness", "contrast", "translation", "cutout"],
                  torch.Generator().manual_seed(0))
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def remedy_params() -> Params:
    variants = {n: VariantConfig(arch="dcgan", width=8, **fields) for n, fields in STUDY.items()}
    return Params(epochs=2, batch_size=16, variants=variants)


@pytest.mark.parametrize("name", sorted(STUDY))
def test_each_remedy_trains_to_finite_losses_and_resumes_exactly(name, tmp_path, small_splits):
    x, y = normalize(small_splits["train"].images[:32]), small_splits["train"].labels[:32]
    cfg = train_config(remedy_params(), name, seed=0)  # 2 steps of 16 per epoch, 2 epochs
    full, rows = init_state(cfg, CPU), []
    train(full, cfg, x, y, lambda s, row: rows.append(row))
    assert len(rows) == 2 and all(math.isfinite(v) for row in rows for v in row.values())
    path = tmp_path / "last.pt"

    class Killed(Exception):
        pass

    def save_then_die(s, row):
        s.history.append(row)
        s.frames.append(torch.zeros(100, 28, 28, dtype=torch.uint8))
        save_state(path, s, cfg, "data")
        if s.epoch == 1:
            raise Killed

    with pytest.raises(Killed):
        train(init_state(cfg, CPU), cfg, x, y, save_then_die)
    saved = torch.load(path, weights_only=True)["extra"]["config"]
    assert {k: saved[k] for k in ("loss", "penalty", "n_critic")} == \
        {"loss": cfg.loss, "penalty": cfg.penalty, "n_critic": cfg.n_critic}
    assert saved["model"]["d_norm"] == cfg.model.d_norm and saved["model"]["pack"] == cfg.model.pack
    resumed = load_state(path, cfg, CPU, "data")
    train(resumed, cfg, x, y, lambda s, row: None)
    for module in ("G", "D"):
        a, b = getattr(full, module).state_dict(), getattr(resumed, module).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), module


def test_the_study_overrides_give_exactly_the_study_variants(tmp_path):
    """Applied as `dvc exp run -S` applies them, the study's overrides replace params.yaml's
    variants by STUDY's, each with its remedy's fields, and the remedies pass their checks."""
    path = tmp_path / "params.yaml"
    shutil.copy(REPO / "params.yaml", path)
    args = experiment_args(3, path, ["epochs=2"], "remedies-test", None)
    overrides = [a for a in args if a.startswith(("~", "+", "data.", "eval.", "epochs"))]
    assert args[:4] == ["exp", "run", "--name", "remedies-test"] and overrides[-1] == "epochs=2"
    apply_overrides(str(path), overrides)
    p = load_params(path)
    assert list(p.variants) == list(STUDY) and p.data.stack == 3 and p.eval.eval_every == 1
    for name, fields in STUDY.items():
        assert {k: getattr(p.variants[name], k) for k in fields} == fields, name
    check_remedies(p)
    tags = remedy_tags(p.variants["wgan_gp"])
    assert tags["remedy"] == ("loss=wasserstein penalty=wgan_gp beta1=0.5 beta2=0.9")
    assert tags["remedy.penalty_weight"] == "10.0" and remedy_tags(p.variants["dcgan"])[
        "remedy"] == "base"


def test_unknown_study_variants_and_remedy_names_are_named():
    with pytest.raises(ConfigError, match=r"no remedy variant\(s\) \['pac9'\].*'pac2'"):
        study_overrides(Params(), ["pac9"])
    bad = Params(variants={"x": VariantConfig(loss="hing")})
    with pytest.raises(ConfigError, match=r"'variants.x.loss' must be one of \[.*'hinge'"):
        check_remedies(bad)
    bad = Params(variants={"x": VariantConfig(augment=["flip"])})
    with pytest.raises(ConfigError, match=r"'variants.x.augment' has unknown.*\['flip'\]"):
        check_remedies(bad)
    with pytest.raises(ConfigError, match="batch_size 128 must split into packs of 3"):
        check_remedies(Params(variants={"x": VariantConfig(pack=3)}))
    with pytest.raises(ConfigError, match="'gan.label_smoothing' applies to the BCE losses"):
        check_remedies(Params(variants={"x": VariantConfig(loss="hinge")},
                              gan=GanConfig(label_smoothing=0.1)))
