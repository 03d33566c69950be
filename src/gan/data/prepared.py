"""Prepared Fashion-MNIST: the split artifact, normalization, and resident batch iteration."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gan import CLASS_NAMES
from gan.config import ConfigError
from gan.data.idx import IdxError, read_idx
from gan.errors import BadInputError
from gan.files import load_file, save_file

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
NUM_CLASSES = len(CLASS_NAMES)
RAW_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


@dataclass(frozen=True)
class Split:
    images: torch.Tensor  # (N, 28, 28) uint8
    labels: torch.Tensor  # (N,) int64


def normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float (N, 1, 28, 28), or stacked uint8 (N, C, 28, 28) -> float
    (N, C, 28, 28), in [-1, 1]; every consumer uses this."""
    x = images.unsqueeze(1) if images.ndim == 3 else images
    return x.float().div(127.5).sub(1.0)


def denormalize(x: torch.Tensor) -> torch.Tensor:
    """float (N, 1, 28, 28) in [-1, 1] -> uint8 (N, 28, 28); stacked (N, C, 28, 28) ->
    uint8 (N, C, 28, 28). Out-of-range values are clipped."""
    return x.squeeze(1).add(1.0).mul(127.5).round().clamp(0, 255).to(torch.uint8)


def read_raw_split(raw_dir: Path, split: str) -> Split:
    """Read and cross-check one official split (images and labels) from the raw directory."""
    img_name, lbl_name = RAW_FILES[split]
    images = read_idx(raw_dir / img_name, ndim=3)
    labels = read_idx(raw_dir / lbl_name, ndim=1)
    if images.shape[1:] != (28, 28):
        raise IdxError(f"{raw_dir / img_name}: images are {images.shape[1:]}, expected (28, 28)")
    if len(images) != len(labels):
        raise IdxError(f"{raw_dir}: {img_name} holds {len(images)} images but {lbl_name} "
                       f"holds {len(labels)} labels")
    if labels.max() >= len(CLASS_NAMES):
        raise IdxError(f"{raw_dir / lbl_name}: label {labels.max()} is out of range 0..9")
    return Split(torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64)))


def split_data(train: Split, test: Split, val_size: int, seed: int,
               train_size: int | None = None, test_size: int | None = None) -> dict[str, Split]:
    """Hold out `val_size` training images with a seeded permutation; optionally cap the rest."""
    if val_size >= len(train.labels):
        raise ConfigError(f"params.yaml: 'data.val_size' must be below the {len(train.labels)} "
                         f"training images, got {val_size}")
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(train.labels), generator=gen)
    val_idx, train_idx = perm[:val_size], perm[val_size:][:train_size]
    test_idx = torch.randperm(len(test.labels), generator=gen)[:test_size]
    pick = lambda s, i: Split(s.images[i], s.labels[i])  # noqa: E731
    return {"train": pick(train, train_idx), "val": pick(train, val_idx),
            "test": pick(test, test_idx)}


def save_prepared(splits: dict[str, Split], path: Path) -> None:
    payload = {"classes": list(CLASS_NAMES)}
    for name, split in splits.items():
        payload[f"{name}_images"], payload[f"{name}_labels"] = split.images, split.labels
    save_file(payload, path)


def load_prepared(path: Path | str) -> dict[str, Split]:
    """Load the prepared artifact written by the prepare stage."""
    payload = load_file(path, "prepared data", "rerun `dvc repro prepare`")
    missing = [f"{s}_{k}" for s in SPLITS for k in ("images", "labels")
               if not isinstance(payload, dict) or f"{s}_{k}" not in payload]
    if missing:
        raise BadInputError(f"{path}: not a prepared Fashion-MNIST file (missing {missing}); "
                         "rerun `dvc repro prepare`")
    return {s: Split(payload[f"{s}_images"], payload[f"{s}_labels"]) for s in SPLITS}


def batches(n: int, batch_size: int, generator: torch.Generator | None = None,
            drop_last: bool = False, device: torch.device | str = "cpu") -> Iterator[torch.Tensor]:
    """Yield index tensors over range(n): shuffled when a generator is given, else in order.

    Index resident tensors with them (`x[idx]`), so no per-item Python runs on the hot path.
    """
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    order = order.to(device)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        yield order[start:start + batch_size]


# Stacked Fashion-MNIST (the Stacked MNIST protocol of PacGAN, VEEGAN): an image is `stack`
# Fashion-MNIST images as channels, so there are 10**stack modes (class tuples). It is a view of
# the resident single-image tensor, indexed by (B, stack) index tensors.


def n_modes(stack: int) -> int:
    return NUM_CLASSES ** stack


def mode_index(classes: torch.Tensor) -> torch.Tensor:
    """Class tuples (N, k) -> mode indices (N,) in 0..10**k - 1, channel 0 the leading digit."""
    k = classes.shape[1]
    weights = NUM_CLASSES ** torch.arange(k - 1, -1, -1, device=classes.device)
    return (classes.long() * weights).sum(1)


def mode_classes(index: torch.Tensor, stack: int) -> torch.Tensor:
    """Mode indices (N,) -> class tuples (N, stack); the inverse of mode_index."""
    weights = NUM_CLASSES ** torch.arange(stack - 1, -1, -1, device=index.device)
    return (index.long()[:, None] // weights) % NUM_CLASSES


def stack_batches(n: int, batch_size: int, stack: int, generator: torch.Generator,
                  drop_last: bool = True, device: torch.device | str = "cpu"
                  ) -> Iterator[torch.Tensor]:
    """Shuffled index batches for `stack` channels: (B,) exactly as `batches` for one channel;
    (B, stack) otherwise, column c picking channel c's image. Channel 0 follows the order
    `batches` draws; every further channel an independent permutation from the same generator:
    each epoch uses every image once per channel and pairs it with fresh partners."""
    if stack == 1:
        yield from batches(n, batch_size, generator, drop_last, device)
        return
    perms = torch.stack([torch.randperm(n, generator=generator) for _ in range(stack)], 1)
    perms = perms.to(device)                                              # (n, stack)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        yield perms[start:start + batch_size]


def gather(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Images x (N, 1, 28, 28) or uint8 (N, 28, 28) at idx (B,) -> x[idx]; at stacked idx
    (B, k) -> (B, k, 28, 28), channel c holding image idx[:, c]. Labels (N,) -> (B,) or (B, k)."""
    out = x[idx]
    return out.flatten(1, 2) if idx.ndim == 2 and x.ndim == 4 else out
