"""Differentiable augmentations by name (DiffAugment, Zhao et al. 2020, written for this loop).

The D step augments reals and fakes and the G step its fakes, each call with fresh draws from
the run's generator, so D never sees an unaugmented image and G's gradient flows through the
augmentation. DiffAugment's "color" is brightness, saturation and contrast; saturation does
nothing to a gray image (and would mix the classes of a stacked one), so it is left out.
Images are (B, C, H, W) in [-1, 1]; "zero" below is 0, mid-gray.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from gan.registry import lookup

TRANSLATION_RATIO = 0.125  # shifts of up to 1/8 of the side each way: +-4 pixels at 28
CUTOUT_RATIO = 0.5         # a square of half the side: 14 x 14 at 28


def _ratio_of(size: int, ratio: float) -> int:
    return int(size * ratio + 0.5)


def translation_shifts(n: int, size: int, generator: torch.Generator,
                       device: torch.device) -> torch.Tensor:
    """Per-sample (dy, dx) offsets, whole pixels in [-s, s], s = 1/8 of the side. -> (n, 2)"""
    s = _ratio_of(size, TRANSLATION_RATIO)
    return torch.randint(-s, s + 1, (n, 2), generator=generator, device=device)


def translate(x: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Move each image by its (dy, dx), zeros coming in: out[b, :, i, j] = x[b, :, i-dy, j-dx]."""
    b, _, h, w = x.shape
    rows = torch.arange(h, device=x.device) - shifts[:, :1]             # (B, H) source rows
    cols = torch.arange(w, device=x.device) - shifts[:, 1:]             # (B, W)
    valid = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    batch = torch.arange(b, device=x.device)[:, None, None]
    out = x[batch, :, rows.clamp(0, h - 1)[:, :, None], cols.clamp(0, w - 1)[:, None, :]]
    out = out * valid[..., None].to(x.dtype)                            # (B, H, W, C)
    return out.permute(0, 3, 1, 2)


def cutout_corners(n: int, size: int, generator: torch.Generator,
                   device: torch.device) -> torch.Tensor:
    """Per-sample top-left (y, x) of the cutout square; as DiffAugment, its centre is anywhere
    on the image, so a square near the border is clipped. -> (n, 2)"""
    c = _ratio_of(size, CUTOUT_RATIO)
    centre = torch.randint(0, size + (1 - c % 2), (n, 2), generator=generator, device=device)
    return centre - c // 2


def cut(x: torch.Tensor, corners: torch.Tensor) -> torch.Tensor:
    """Zero a square of side CUTOUT_RATIO x the image side at each image's corner."""
    _, _, h, w = x.shape
    c = _ratio_of(h, CUTOUT_RATIO)
    ys = torch.arange(h, device=x.device) - corners[:, :1]              # (B, H)
    xs = torch.arange(w, device=x.device) - corners[:, 1:]              # (B, W)
    inside = ((ys >= 0) & (ys < c))[:, :, None] & ((xs >= 0) & (xs < c))[:, None, :]
    return x * (~inside)[:, None].to(x.dtype)                           # (B, C, H, W)


def translation(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return translate(x, translation_shifts(len(x), x.shape[-1], generator, x.device))


def cutout(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return cut(x, cutout_corners(len(x), x.shape[-1], generator, x.device))


def _uniform(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(len(x), 1, 1, 1, generator=generator, device=x.device, dtype=x.dtype)


def brightness(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Add U(-0.5, 0.5) per image."""
    return x + (_uniform(x, generator) - 0.5)


def contrast(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Scale each image's deviation from its mean by U(0.5, 1.5)."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(x, generator) + 0.5) + mean


AUGMENTS: dict[str, Callable[[torch.Tensor, torch.Generator], torch.Tensor]] = {
    "brightness": brightness, "contrast": contrast, "translation": translation, "cutout": cutout}


def augment(x: torch.Tensor, names: Sequence[str], generator: torch.Generator) -> torch.Tensor:
    """Apply the named augmentations in order (none: x itself); an unknown name lists the
    valid ones."""
    for name in names:
        x = lookup(AUGMENTS, name, "augmentation")(x, generator)
    return x
