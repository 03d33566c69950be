"""Stage `sample@<variant>`: the fixed-noise grid of a trained variant and the animation of its
training."""

from __future__ import annotations

import logging
from pathlib import Path

from gan import CLASS_NAMES
from gan.config import load_params
from gan.generate import fixed_noise, render
from gan.pictures import grid_image, save_animation, save_png
from gan.runtime import device_for
from gan.tracking import start_run
from gan.train_files import load_trained

log = logging.getLogger(__name__)


def run(variant: str, model: Path | None = None, out_dir: Path | None = None,
               params: Path = Path("params.yaml"), track: bool = True) -> None:
    """Draw the fixed-noise grid of a trained VARIANT and the animation of its training.

    Paths default to data/models/VARIANT.pt and data/samples/VARIANT/.
    """
    model = model or Path(f"data/models/{variant}.pt")
    out_dir = out_dir or Path(f"data/samples/{variant}")
    p = load_params(params)
    device = device_for(p)
    G, cfg, extra = load_trained(model, device, variant)
    z, labels = fixed_noise(cfg.model, cfg.seed, device)
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
