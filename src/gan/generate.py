"""Drawing images from a generator: the fixed grid noise, rendering, and batches of samples.
Everything returned is uint8 (N, 28, 28) on the CPU (stacked models: (N, C, 28, 28)), whatever
device G is on."""

from __future__ import annotations

import torch
from torch import nn

from gan import CLASS_NAMES
from gan.data.prepared import denormalize, mode_classes, n_modes
from gan.models.gan_nets import GanArch

GRID_SIDE = 10  # the fixed-noise grid is GRID_SIDE x GRID_SIDE; conditional: a row per class


def fixed_noise(arch: GanArch, seed: int, device: torch.device
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The grid's latent batch (100, z_dim), the same on every device; labels for conditional:
    row k holds class k; stacked (C channels): channel 0 is the row's class, channel 1 the
    column's, channel c the row's class shifted by c times the column, so a grid shows 100
    different modes."""
    return requested_noise(arch, GRID_SIDE * GRID_SIDE, seed, device)


def requested_noise(arch: GanArch, n: int, seed: int, device: torch.device,
                    label: int | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Latents (n, z_dim) for SEED and, for a conditional model, labels: every image of class
    (stacked: mode) LABEL, or, without one, the grid's pattern continued past 100 images
    (image i in row i // 10 % 10, column i % 10). n = 100 is the grid of `gan sample`."""
    gen = torch.Generator().manual_seed(seed + 2)
    z = torch.randn(n, arch.z_dim, generator=gen).to(device)
    if not arch.conditional:
        if label is not None:
            raise ValueError(f"label {label}: this generator is not conditional; leave it out")
        return z, None
    if label is not None:
        if not 0 <= label < n_modes(arch.channels):
            raise ValueError(f"label {label}: expected a class (stacked: mode) in "
                             f"0..{n_modes(arch.channels) - 1}")
        labels = torch.full((n,), label, dtype=torch.long)
        labels = labels if arch.channels == 1 else mode_classes(labels, arch.channels)
        return z, labels.to(device)
    i = torch.arange(n, device=device)
    row, col = i // GRID_SIDE % GRID_SIDE, i % GRID_SIDE
    if arch.channels == 1:
        return z, row
    return z, torch.stack([(row + c * col) % len(CLASS_NAMES) if c != 1 else col
                           for c in range(arch.channels)], 1)           # (n, C)


@torch.no_grad()
def render(G: nn.Module, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """Generate in eval mode (BN running stats) and return uint8 images (N, 28, 28) on CPU
    ((N, C, 28, 28) for a stacked model)."""
    was_training = G.training
    G.eval()
    images = denormalize(G(z, labels).float()).cpu()
    G.train(was_training)
    return images


@torch.no_grad()
def generate(G: nn.Module, n: int, device: torch.device, seed: int, batch_size: int = 1000
             ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """n uint8 samples (n, 28, 28) from G in eval mode ((n, C, 28, 28) when stacked);
    conditional: balanced labels, cycling through the classes (stacked: through the modes,
    labels (n, C)). Uses its own RNG, so training is unaffected."""
    gen = torch.Generator().manual_seed(seed)
    labels = None
    if G.arch.conditional:
        labels = torch.arange(n) % n_modes(G.arch.channels)
        labels = labels if G.arch.channels == 1 else mode_classes(labels, G.arch.channels)
    images = []
    for start in range(0, n, batch_size):
        b = min(batch_size, n - start)
        z = torch.randn(b, G.arch.z_dim, generator=gen).to(device)        # (b, z_dim)
        y = None if labels is None else labels[start:start + b].to(device)
        images.append(render(G, z, y))                              # (b, [C,] 28, 28)
    return torch.cat(images), labels


@torch.no_grad()
def recalibrate_bn(G: nn.Module, device: torch.device, seed: int, n_batches: int = 16,
                   batch_size: int = 256) -> None:
    """Recompute G's batch-norm running statistics for its current weights: the exact average
    over `n_batches` fresh batches of noise (its own RNG: training is unaffected)."""
    norms = [m for m in G.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average: every batch weighs the same
    gen = torch.Generator().manual_seed(seed)
    was_training = G.training
    G.train()
    for _ in range(n_batches):
        z = torch.randn(batch_size, G.arch.z_dim, generator=gen).to(device)  # (B, z_dim)
        labels = (torch.randint(len(CLASS_NAMES), (batch_size, *G.arch.label_shape),
                                generator=gen).to(device) if G.arch.conditional else None)
        G(z, labels)
    G.train(was_training)
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
