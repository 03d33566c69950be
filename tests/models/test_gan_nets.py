import pytest
import torch
from torch.nn.utils import parametrize

from gan.config import DataConfig, Params
from gan.models.gan_nets import GanArch, build_gan
from gan.run_config import train_config

VARIANTS = sorted(Params().variants)


@pytest.mark.parametrize("variant", VARIANTS)
def test_output_shapes_for_every_variant(variant):
    cfg = train_config(Params(), variant, seed=0)
    G, D = build_gan(cfg.arch, cfg.model)
    z = torch.randn(4, cfg.model.z_dim)
    labels = torch.tensor([0, 3, 5, 9]) if cfg.model.conditional else None
    x = G(z, labels)
    assert x.shape == (4, 1, 28, 28)
    assert x.min() >= -1 and x.max() <= 1
    assert D(x, labels).shape == (4,)


@pytest.mark.parametrize("arch_name", ["mlp", "dcgan"])
def test_d_normalisations_and_remedies_are_options_of_the_same_class(arch_name):
    plain = build_gan(arch_name, GanArch(width=8))[1]
    kinds = {"batch": (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d),
             "layer": (torch.nn.LayerNorm, torch.nn.GroupNorm)}
    for d_norm, layers in kinds.items():
        D = build_gan(arch_name, GanArch(width=8, d_norm=d_norm))[1]
        assert type(D) is type(plain)
        assert any(isinstance(m, layers) for m in D.modules())
        assert not any(isinstance(m, layers) for m in plain.modules())
    D = build_gan(arch_name, GanArch(width=8, d_norm="spectral", pack=2, mbstd_group=4))[1]
    assert type(D) is type(plain) and parametrize.is_parametrized(D.head)
    assert D(torch.randn(8, 1, 28, 28)).shape == (4,)  # 8 samples in packs of 2


def test_conditional_models_require_labels_and_others_refuse_them():
    G, D = build_gan("dcgan", GanArch(width=8, conditional=True))
    with pytest.raises(ValueError, match="conditional: pass labels of shape \\(2,\\)"):
        G(torch.randn(2, 100))
    G_u, _ = build_gan("mlp", GanArch(width=8))
    with pytest.raises(ValueError, match="unconditional"):
        G_u(torch.randn(2, 100), torch.tensor([1, 2]))


def test_conditioning_changes_the_output():
    G, _ = build_gan("mlp", GanArch(width=8, conditional=True))
    G.eval()
    z = torch.randn(1, 100).repeat(2, 1)
    out = G(z, torch.tensor([0, 7]))
    assert not torch.allclose(out[0], out[1])


def test_unknown_architecture_lists_valid_ones():
    with pytest.raises(ValueError, match=r"architecture 'vae'; valid: \['dcgan', 'mlp'\]"):
        build_gan("vae", GanArch())


def test_projection_discriminator_is_an_option_of_the_same_class():
    _, concat = build_gan("dcgan", GanArch(width=8, conditional=True))
    _, proj = build_gan("dcgan", GanArch(width=8, conditional=True, projection=True))
    assert type(proj) is type(concat)
    assert proj.net[0].in_channels == 1 and concat.net[0].in_channels == 11  # no label planes
    x = torch.randn(4, 1, 28, 28)
    a, b = proj(x, torch.tensor([0, 1, 2, 3])), proj(x, torch.tensor([9, 8, 7, 6]))
    assert a.shape == (4,) and not torch.allclose(a, b)  # the label enters by projection
    _, mlp = build_gan("mlp", GanArch(width=8, conditional=True, projection=True))
    assert mlp(x, torch.tensor([0, 1, 2, 3])).shape == (4,)
    with pytest.raises(ValueError, match="projection discriminator needs conditional"):
        GanArch(projection=True)


@pytest.mark.parametrize("variant", VARIANTS)
def test_stacked_shapes_for_every_variant(variant):
    """Stacked Fashion-MNIST: the same classes with 3 image channels; conditional variants
    take a class per channel."""
    cfg = train_config(Params(data=DataConfig(stack=3)), variant, seed=0)
    assert cfg.model.channels == 3
    G, D = build_gan(cfg.arch, cfg.model)
    z = torch.randn(4, cfg.model.z_dim)
    labels = torch.tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 9, 9]]) \
        if cfg.model.conditional else None
    x = G(z, labels)
    assert x.shape == (4, 3, 28, 28)
    assert D(x, labels).shape == (4,)
    same_class = type(build_gan(cfg.arch, train_config(Params(), variant, 0).model)[0])
    assert type(G) is same_class


def test_stacked_conditioning_reads_every_channel_label():
    for arch, proj in (("dcgan", False), ("dcgan", True), ("mlp", False)):
        G, D = build_gan(arch, GanArch(width=8, conditional=True, projection=proj, channels=3))
        G.eval()
        D.eval()
        z = torch.randn(1, 100).repeat(2, 1)
        a, b = torch.tensor([[0, 1, 2], [0, 1, 3]]).unbind()  # differ in channel 2 only
        labels = torch.stack([a, b])
        assert not torch.allclose(*G(z, labels))
        x = torch.randn(1, 3, 28, 28).repeat(2, 1, 1, 1)
        assert not torch.allclose(*D(x, labels))
        with pytest.raises(ValueError, match=r"labels of shape \(2, 3\)"):
            G(z, torch.tensor([0, 1]))


@pytest.mark.parametrize("arch_name", ["mlp", "dcgan"])
def test_d_width_narrows_only_the_discriminator(arch_name):
    """PacGAN's Table 3: D at a quarter of G's width, G unchanged; shapes as before."""
    full_g, full_d = build_gan(arch_name, GanArch(width=16))
    g, d = build_gan(arch_name, GanArch(width=16, d_width=4))
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(g) == count(full_g) and count(d) < count(full_d) / 3
    first = next(m for m in d.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear))
    # MLP: 2 * (d_width * 4) hidden units first; DCGAN: d_width channels
    assert (first.out_features if arch_name == "mlp" else first.out_channels) == \
        {"mlp": 32, "dcgan": 4}[arch_name]
    x = g(torch.randn(8, 100))                                    # (8, 1, 28, 28)
    assert x.shape == (8, 1, 28, 28) and d(x).shape == (8,)
