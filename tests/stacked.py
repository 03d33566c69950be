"""Stacked Fashion-MNIST drawn from real images, for tests: the pipeline stacks by epoch
(gan.data.prepared.stack_batches); tests want n stacks drawn at once."""

from __future__ import annotations

import torch


def stack_images(images: torch.Tensor, labels: torch.Tensor, n: int, stack: int,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n stacked images drawn uniformly with replacement from uint8 images (N, 28, 28):
    uint8 (n, stack, 28, 28) and their class tuples (n, stack)."""
    idx = torch.randint(len(labels), (n, stack), generator=generator)   # (n, stack)
    return images[idx], labels[idx]
