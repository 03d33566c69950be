"""Sample grids (class rows for conditional models) and the training-progress animation."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from PIL import Image, ImageDraw
from torchvision.utils import make_grid

from gan.atomic import atomic_file
from gan.generate import GRID_SIDE

log = logging.getLogger(__name__)

SCALE = 3          # pixels per image pixel in the saved pictures
LABEL_WIDTH = 90   # left margin for class names on conditional grids


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
