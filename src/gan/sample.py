"""Sample grids (class rows for conditional models) and the training-progress animation."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from PIL import Image, ImageDraw
from torchvision.utils import make_grid

from gan import CLASS_NAMES
from gan.atomic import atomic_file
from gan.config import load_params
from gan.runtime import device_for
from gan.tracking import start_run
from gan.train_state import GRID_SIDE, fixed_noise, load_trained, render

log = logging.getLogger(__name__)

SCALE = 3          # pixels per image pixel in the saved pictures
LABEL_WIDTH = 90   # left margin for class names on conditional grids


def grid_image(images: torch.Tensor, row_labels: list[str] | None = None,
               caption: str | None = None) -> Image.Image:
    """uint8 (GRID_SIDE**2, 28, 28) -> a GRID_SIDE x GRID_SIDE grayscale picture, optionally
    with a name at the left of each row and a caption line at the bottom."""
    images = images.cpu()  # (N, 28, 28): PIL needs CPU memory
    grid = make_grid(images.unsqueeze(1), nrow=GRID_SIDE, padding=2, pad_value=255)  # (3, H, W)
    picture = Image.fromarray(grid[0].numpy(), mode="L")
    picture = picture.resize((picture.width * SCALE, picture.height * SCALE), Image.NEAREST)
    left = LABEL_WIDTH if row_labels else 0
    bottom = 16 if caption else 0
    canvas = Image.new("L", (picture.width + left, picture.height + bottom), 255)
    canvas.paste(picture, (left, 0))
    draw = ImageDraw.Draw(canvas)
    row_height = picture.height / GRID_SIDE
    for k, name in enumerate(row_labels or []):
        draw.text((4, int((k + 0.5) * row_height) - 5), name, fill=0)
    if caption:
        draw.text((left + 4, picture.height + 2), caption, fill=0)
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


def run_sample(variant: str, model: Path | None = None, out_dir: Path | None = None,
               params: Path = Path("params.yaml"), track: bool = True) -> None:
    """Draw the fixed-noise grid of a trained VARIANT and the animation of its training.

    Paths default to data/models/VARIANT.pt and data/samples/VARIANT/.
    """
    model = model or Path(f"data/models/{variant}.pt")
    out_dir = out_dir or Path(f"data/samples/{variant}")
    p = load_params(params)
    device = device_for(p)
    G, cfg, extra = load_trained(model, device, variant)
    z, labels = fixed_noise(cfg, device)
    rows = list(CLASS_NAMES) if cfg.model.conditional else None
    grid_path, gif_path = out_dir / "grid.png", out_dir / "training.gif"
    save_png(grid_image(render(G, z, labels), rows, f"{cfg.variant}, epoch {extra['epoch']}"),
             grid_path)
    save_animation([grid_image(f, rows, f"{cfg.variant}, epoch {e}")
                    for f, e in zip(extra["frames"], extra["frame_epochs"], strict=True)],
                   gif_path)
    log.info("%s: wrote %s and %s (%d frames)", cfg.variant, grid_path, gif_path,
             len(extra["frames"]))
    # Artifacts go to the variant's training run, whose id the checkpoint carries.
    with start_run(p.mlflow.experiment, cfg.variant, {},
                   run_id=extra["run_id"], enabled=track and extra["run_id"] is not None
                   ) as tracker:
        tracker.log_artifact(grid_path, "samples")
        tracker.log_artifact(gif_path, "samples")
