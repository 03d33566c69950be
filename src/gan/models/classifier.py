"""Fashion-MNIST CNN classifier: the feature space for FID and the judge of mode coverage."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from gan.models import register


@dataclass(frozen=True)
class ClassifierArch:
    channels: int = 32
    feature_dim: int = 128
    dropout: float = 0.3
    num_classes: int = 10


def _conv(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True)]


@register("classifier", ClassifierArch)
class FashionClassifier(nn.Module):
    """Four 3x3 conv layers with batch norm, then a `feature_dim` embedding and a linear head."""

    def __init__(self, arch: ClassifierArch) -> None:
        super().__init__()
        c = arch.channels
        self.arch = arch
        self.body = nn.Sequential(
            *_conv(1, c),            # (B, c, 28, 28)
            *_conv(c, c),            # (B, c, 28, 28)
            nn.MaxPool2d(2),         # (B, c, 14, 14)
            *_conv(c, 2 * c),        # (B, 2c, 14, 14)
            *_conv(2 * c, 2 * c),    # (B, 2c, 14, 14)
            nn.MaxPool2d(2),         # (B, 2c, 7, 7)
            nn.Flatten(),            # (B, 2c * 49)
            nn.Dropout(arch.dropout),
            nn.Linear(2 * c * 49, arch.feature_dim, bias=False),
            nn.BatchNorm1d(arch.feature_dim),
            nn.ReLU(inplace=True),   # (B, feature_dim)
        )
        self.head = nn.Sequential(nn.Dropout(arch.dropout),
                                  nn.Linear(arch.feature_dim, arch.num_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, 28, 28) in [-1, 1] -> (B, feature_dim) penultimate embedding (used for FID)."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, 28, 28) -> (B, num_classes) logits."""
        return self.head(self.body(x))
