"""GAN generator/discriminator families (MLP and DCGAN); conditioning, D's normalisation
(batch, layer, spectral), PacGAN packing, minibatch std, spectral norm in G and the number of
image channels (Stacked Fashion-MNIST) are options of the same classes, never a second copy of
a network."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gan.models import build_model, register
from gan.models.d_options import MinibatchStd, get_d_norm, pack, spectral_norm_all
from gan.registry import lookup


@dataclass(frozen=True)
class GanArch:
    z_dim: int = 100
    width: int = 64          # channels (DCGAN) or hidden-unit multiple (MLP)
    d_width: int | None = None  # D's width when narrower (PacGAN's Table 3); None: width
    conditional: bool = False
    d_norm: str = "none"     # D's normalisation: none | batch | layer | spectral (d_options)
    g_spectral: bool = False  # spectral norm on G's weights too (as SAGAN/BigGAN)
    pack: int = 1            # PacGAN: D judges this many samples at once (1: no packing)
    mbstd_group: int = 0     # minibatch std feature in D over groups of this size (0: off)
    # Conditional D: False stacks the one-hot label on the input (concatenation); True adds a
    # projection term <embed(y), features> to the logit (Miyato & Koyama, 2018).
    projection: bool = False
    num_classes: int = 10
    # Image channels: 1 for Fashion-MNIST, k for Stacked Fashion-MNIST (k images as channels).
    # A conditional model then takes one class per channel: labels (B, k).
    channels: int = 1

    def __post_init__(self) -> None:
        if self.projection and not self.conditional:
            raise ValueError("projection discriminator needs conditional: true")
        if self.channels < 1:
            raise ValueError(f"channels must be >= 1, got {self.channels}")
        if self.pack < 1 or self.mbstd_group < 0:
            raise ValueError(f"pack must be >= 1 and mbstd_group >= 0, got {self.pack}, "
                             f"{self.mbstd_group}")
        if self.pack > 1 and self.projection:
            raise ValueError("packing is for unconditional or concatenation-conditioned D; a "
                             "projection D scores one sample's label against its features")

    @property
    def disc_width(self) -> int:
        return self.width if self.d_width is None else self.d_width

    @property
    def label_dim(self) -> int:
        """Width of the conditioning vector: one one-hot class per channel."""
        return self.num_classes * self.channels

    @property
    def label_shape(self) -> tuple[int, ...]:
        """Labels per sample: () for one channel, (channels,) for stacked images."""
        return () if self.channels == 1 else (self.channels,)


class _Conditioned(nn.Module):
    """Shared label handling: conditional models require labels, others refuse them."""

    arch: GanArch

    def _check_labels(self, labels: torch.Tensor | None, batch: int) -> None:
        shape = (batch, *self.arch.label_shape)
        if self.arch.conditional and (labels is None or labels.shape != shape):
            raise ValueError(f"{type(self).__name__} is conditional: pass labels of shape "
                             f"{shape} with class indices 0..{self.arch.num_classes - 1}")
        if not self.arch.conditional and labels is not None:
            raise ValueError(f"{type(self).__name__} is unconditional: do not pass labels")

    def _one_hot(self, labels: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """(B,) or (B, k) class indices -> (B, label_dim): one one-hot per channel, side by side."""
        return F.one_hot(labels, self.arch.num_classes).to(dtype).view(len(labels), -1)

    def _embed_labels(self, labels: torch.Tensor) -> torch.Tensor:
        """Projection embedding of the labels: channel c's class k is row c * num_classes + k,
        summed over channels. -> (B, F)"""
        if labels.ndim == 1:
            return self.embed(labels)
        offsets = torch.arange(labels.shape[1], device=labels.device) * self.arch.num_classes
        return self.embed(labels + offsets).sum(1)                      # (B, k, F) -> (B, F)

    def _append_labels(self, h: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """(B, F) -> (B, F + label_dim) with the one-hot label(s) appended when conditional."""
        self._check_labels(labels, len(h))
        return h if labels is None else torch.cat([h, self._one_hot(labels, h.dtype)], dim=1)

    def _d_options(self) -> None:
        """Spectral norm where the config asks for it (after all layers exist)."""
        if get_d_norm(self.arch.d_norm).spectral:
            spectral_norm_all(self)

    def _mbstd(self) -> nn.Module:
        return MinibatchStd(self.arch.mbstd_group) if self.arch.mbstd_group else nn.Identity()

    def _concat_input(self) -> bool:
        """Whether a discriminator takes the label with its input (else by projection)."""
        return self.arch.conditional and not self.arch.projection

    def _logit(self, h: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """Discriminator output from features h (B, F): linear head, plus <embed(y), h> for
        a projection discriminator. -> (B,)"""
        out = self.head(h).squeeze(1)
        if self.arch.projection:
            out = out + (self._embed_labels(labels).to(h.dtype) * h).sum(1)
        return out


@register("mlp_generator", GanArch)
class MLPGenerator(_Conditioned):
    """Fully connected generator as in the Keras write-ups: 256 -> 512 -> 1024 -> C*784, tanh."""

    def __init__(self, arch: GanArch) -> None:
        super().__init__()
        self.arch = arch
        w = arch.width * 4  # width 64 -> 256 hidden units in the first layer
        z_in = arch.z_dim + (arch.label_dim if arch.conditional else 0)

        def block(i: int, o: int) -> list[nn.Module]:
            return [nn.Linear(i, o), nn.BatchNorm1d(o), nn.LeakyReLU(0.2, inplace=True)]

        self.net = nn.Sequential(
            *block(z_in, w),              # (B, w)
            *block(w, 2 * w),             # (B, 2w)
            *block(2 * w, 4 * w),         # (B, 4w)
            nn.Linear(4 * w, arch.channels * 28 * 28),    # (B, C*784)
            nn.Tanh(),
        )
        if arch.g_spectral:
            spectral_norm_all(self)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, z_dim) [+ (B,) or (B, C) labels] -> (B, C, 28, 28) in [-1, 1]."""
        return self.net(self._append_labels(z, labels)).view(-1, self.arch.channels, 28, 28)


@register("mlp_discriminator", GanArch)
class MLPDiscriminator(_Conditioned):
    """Fully connected discriminator: C*784 -> 512 -> 256 -> 1 logit. With packing m, B
    samples (with their label one-hots) become B/m inputs of m times the width."""

    def __init__(self, arch: GanArch) -> None:
        super().__init__()
        self.arch = arch
        w = arch.disc_width * 4
        x_in = arch.channels * 28 * 28 + (arch.label_dim if self._concat_input() else 0)
        self.net = nn.Sequential(
            nn.Linear(arch.pack * x_in, 2 * w), nn.LeakyReLU(0.2, inplace=True),  # (B/m, 2w)
            nn.Linear(2 * w, w), get_d_norm(arch.d_norm).features(w, 1),
            nn.LeakyReLU(0.2, inplace=True),                                    # (B/m, w)
            self._mbstd(),                                                      # (B/m, w[+1])
        )
        h_dim = w + (1 if arch.mbstd_group else 0)
        self.head = nn.Linear(h_dim, 1)                                         # (B/m, 1)
        if arch.projection:
            self.embed = nn.Embedding(arch.label_dim, h_dim)                    # (B, h_dim)
        self._d_options()

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, 28, 28) [+ (B,) or (B, C) labels] -> (B/m,) logits of "real"."""
        self._check_labels(labels, len(x))
        x = x.flatten(1)                                                        # (B, C*784)
        if self._concat_input():
            x = torch.cat([x, self._one_hot(labels, x.dtype)], dim=1)  # (B, C*784 + C*10)
        return self._logit(self.net(pack(x, self.arch.pack)), labels)


@register("dcgan_generator", GanArch)
class DCGenerator(_Conditioned):
    """DCGAN generator: project to 7x7, two stride-2 transposed convolutions to 28x28."""

    def __init__(self, arch: GanArch) -> None:
        super().__init__()
        self.arch = arch
        c = arch.width
        z_in = arch.z_dim + (arch.label_dim if arch.conditional else 0)
        self.project = nn.Sequential(
            nn.Linear(z_in, 2 * c * 7 * 7, bias=False), nn.BatchNorm1d(2 * c * 7 * 7),
            nn.ReLU(inplace=True),                                          # (B, 2c*49)
        )
        self.net = nn.Sequential(
            nn.ConvTranspose2d(2 * c, c, 4, 2, 1, bias=False), nn.BatchNorm2d(c),
            nn.ReLU(inplace=True),                                          # (B, c, 14, 14)
            nn.ConvTranspose2d(c, arch.channels, 4, 2, 1),                  # (B, C, 28, 28)
            nn.Tanh(),
        )
        if arch.g_spectral:
            spectral_norm_all(self)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, z_dim) [+ (B,) or (B, C) labels] -> (B, C, 28, 28) in [-1, 1]."""
        h = self.project(self._append_labels(z, labels))                  # (B, 2c*49)
        h = h.view(-1, 2 * self.arch.width, 7, 7)                          # (B, 2c, 7, 7)
        return self.net(h)


@register("dcgan_discriminator", GanArch)
class DCDiscriminator(_Conditioned):
    """DCGAN discriminator: two stride-2 convolutions, optional batch norm, linear logit.
    Conditioning enters as one-hot label planes stacked on the image channels, or (projection)
    as an embedding of the label dotted with the features. Packing m stacks m samples (with
    their label planes) on the input channels: B samples become B/m inputs."""

    def __init__(self, arch: GanArch) -> None:
        super().__init__()
        self.arch = arch
        c = arch.disc_width
        c_in = arch.channels + (arch.label_dim if self._concat_input() else 0)
        c_out = 2 * c + (1 if arch.mbstd_group else 0)
        self.net = nn.Sequential(
            nn.Conv2d(arch.pack * c_in, c, 4, 2, 1),
            nn.LeakyReLU(0.2, inplace=True),                                  # (B/m, c, 14, 14)
            nn.Conv2d(c, 2 * c, 4, 2, 1), get_d_norm(arch.d_norm).features(2 * c, 2),
            nn.LeakyReLU(0.2, inplace=True),                                  # (B/m, 2c, 7, 7)
            self._mbstd(),                                                    # (B/m, c_out, 7, 7)
            nn.Flatten(),                                                     # (B/m, c_out*49)
        )
        self.head = nn.Linear(c_out * 7 * 7, 1)                               # (B/m, 1)
        if arch.projection:
            self.embed = nn.Embedding(arch.label_dim, c_out * 7 * 7)          # (B, c_out*49)
        self._d_options()

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, 28, 28) [+ (B,) or (B, C) labels] -> (B/m,) logits of "real"."""
        self._check_labels(labels, len(x))
        if self._concat_input():
            planes = self._one_hot(labels, x.dtype)[:, :, None, None].expand(-1, -1, 28, 28)
            x = torch.cat([x, planes], dim=1)                           # (B, C + C*10, 28, 28)
        return self._logit(self.net(pack(x, self.arch.pack)), labels)


# GAN architectures: name -> (generator, discriminator) registry names.
GAN_ARCHS = {"mlp": ("mlp_generator", "mlp_discriminator"),
             "dcgan": ("dcgan_generator", "dcgan_discriminator")}


def build_gan(arch_name: str, arch: GanArch) -> tuple[nn.Module, nn.Module]:
    """Generator and discriminator of a GAN architecture; unknown names list the valid ones."""
    g_name, d_name = lookup(GAN_ARCHS, arch_name, "GAN architecture")
    return build_model(g_name, asdict(arch)), build_model(d_name, asdict(arch))
