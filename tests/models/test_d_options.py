"""D's remedies as options: spectral norm bounds every weight, packing keeps reals with reals,
the minibatch-std feature is the group's std; an unknown normalisation is named."""

import pytest
import torch
from torch import nn

from gan.models.d_options import WEIGHT_LAYERS, MinibatchStd, get_d_norm, pack
from gan.models.gan_nets import GanArch, build_gan
from gan.train.loop import StepConfig, d_step


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


def test_an_unknown_d_normalisation_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown D normalisation 'group'.*'spectral'"):
        get_d_norm("group")
    with pytest.raises(ValueError, match=r"unknown D normalisation 'group'.*'spectral'"):
        build_gan("dcgan", GanArch(d_norm="group"))
