"""Image files in and out: generated images read from files other tools write (.npy, .npz,
.pt, or a folder of PNGs), and the pictures the pipeline writes (sample grids with class rows
for conditional models, and the training-progress animation)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from torchvision.utils import make_grid

from gan.errors import PipelineError
from gan.files import atomic_file, load_file
from gan.generate import GRID_SIDE

EXPECTED = ("uint8 images of shape N x 28 x 28, or stacked N x 3 x 28 x 28 (values 0..255; "
            "up to 3 channels)")
MAX_STACK = 3  # as data.stack
SCALE = 3          # pixels per image pixel in the saved pictures
LABEL_WIDTH = 90   # left margin for class names on conditional grids


class ImageInputError(PipelineError, ValueError):
    """Images to score are missing or not in the expected form."""


def _from_mapping(data: dict, path: Path) -> tuple[object, object | None]:
    for key in ("images", "x"):
        if key in data:
            return data[key], data.get("labels", data.get("y"))
    if len(data) == 1:
        return next(iter(data.values())), None
    raise ImageInputError(f"{path}: holds {sorted(data)}; name the images array 'images' "
                          "(and optional labels 'labels')")


def _read(path: Path) -> tuple[object, object | None]:
    if path.is_dir():
        files = sorted(path.glob("*.png"))
        if not files:
            raise ImageInputError(f"{path}: no .png files in this folder")
        return np.stack([np.asarray(Image.open(f).convert("L")) for f in files]), None
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return np.load(path, allow_pickle=False), None
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as npz:
            return _from_mapping({k: npz[k] for k in npz.files}, path)
    if suffix == ".pt":
        data = load_file(path, "images file", "write it again with torch.save (a uint8 tensor "
                         "N x 28 x 28, or a dict with 'images' and optional 'labels')")
        return _from_mapping(data, path) if isinstance(data, dict) else (data, None)
    raise ImageInputError(f"{path}: unsupported file type {suffix!r}; use .npy, .npz, .pt or a "
                          "folder of .png files")


def _as_uint8(array: object, path: Path) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(array)) if not isinstance(array, torch.Tensor) else array
    if t.dtype != torch.uint8:
        raise ImageInputError(f"{path}: images are {t.dtype}, expected {EXPECTED}; "
                              "scale to 0..255 and convert to uint8")
    if t.ndim == 4 and t.shape[1] == 1:
        t = t[:, 0]  # (N, 1, 28, 28) -> (N, 28, 28)
    stacked = t.ndim == 4 and 1 < t.shape[1] <= MAX_STACK  # (N, k, 28, 28): Stacked F-MNIST
    if t.ndim != 3 + stacked or tuple(t.shape[-2:]) != (28, 28):
        raise ImageInputError(f"{path}: images have shape {tuple(t.shape)}, expected {EXPECTED}")
    return t.contiguous()


def load_images(path: Path | str, labels_path: Path | str | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(N, 28, 28) uint8 images and optional (N,) int64 labels 0..9; stacked images
    (N, k, 28, 28) with optional (N, k) labels, a class per channel."""
    path = Path(path)
    if not path.exists():
        raise ImageInputError(f"{path}: not found")
    images, labels = _read(path)
    images = _as_uint8(images, path)
    if labels_path is not None:
        labels_path = Path(labels_path)
        if not labels_path.exists():
            raise ImageInputError(f"{labels_path}: not found")
        labels, _ = _read(labels_path)
    if labels is None:
        return images, None
    labels = torch.as_tensor(np.asarray(labels)).long().flatten()
    per_image = 1 if images.ndim == 3 else images.shape[1]
    if len(labels) != len(images) * per_image or labels.min() < 0 or labels.max() > 9:
        shape = len(images) if per_image == 1 else f"{len(images)} x {per_image}"
        raise ImageInputError(f"labels must be {shape} class indices in 0..9, got "
                              f"{len(labels)} values in {int(labels.min())}..{int(labels.max())}")
    return images, labels if per_image == 1 else labels.view(len(images), per_image)


def grid_image(images: torch.Tensor, row_labels: list[str] | None = None,
               caption: str | None = None) -> Image.Image:
    """uint8 (GRID_SIDE**2, 28, 28) -> a GRID_SIDE x GRID_SIDE grayscale picture, optionally
    with a name at the left of each row and a caption line at the bottom. Stacked images
    (N, C, 28, 28) are drawn in colour: channel 0 red, 1 green, 2 blue."""
    images = images.cpu()  # PIL needs CPU memory
    x = images.unsqueeze(1) if images.ndim == 3 else images                  # (N, C, 28, 28)
    if x.shape[1] == 2:  # two stacked channels: red and green, blue empty
        x = torch.cat([x, torch.zeros_like(x[:, :1])], 1)
    grid = make_grid(x, nrow=GRID_SIDE, padding=2, pad_value=255)            # (3, H, W)
    gray = images.ndim == 3
    picture = (Image.fromarray(grid[0].numpy(), mode="L") if gray
               else Image.fromarray(grid.permute(1, 2, 0).contiguous().numpy(), mode="RGB"))
    picture = picture.resize((picture.width * SCALE, picture.height * SCALE), Image.NEAREST)
    left = LABEL_WIDTH if row_labels else 0
    bottom = 16 if caption else 0
    canvas = Image.new(picture.mode, (picture.width + left, picture.height + bottom), "white")
    canvas.paste(picture, (left, 0))
    draw = ImageDraw.Draw(canvas)
    row_height = picture.height / GRID_SIDE
    for k, name in enumerate(row_labels or []):
        draw.text((4, int((k + 0.5) * row_height) - 5), name, fill="black")
    if caption:
        draw.text((left + 4, picture.height + 2), caption, fill="black")
    return canvas


def save_png(picture: Image.Image, path: Path) -> None:
    with atomic_file(path) as tmp:
        picture.save(tmp, format="PNG")


def save_animation(frames: list[Image.Image], path: Path, ms_per_frame: int = 300) -> None:
    """Animated GIF of the frames; the last frame is held longer."""
    durations = [ms_per_frame] * (len(frames) - 1) + [ms_per_frame * 6]
    with atomic_file(path) as tmp:
        frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:],
                       duration=durations, loop=0)
