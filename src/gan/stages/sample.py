"""Stage `sample@<variant>-<seed>`: the fixed-noise grid of a trained run and the animation
of its training."""

from __future__ import annotations

import logging
from pathlib import Path

from gan import CLASS_NAMES
from gan.data.image_files import grid_image, save_animation, save_png
from gan.generate import fixed_noise, render
from gan.layout import RunPaths
from gan.runtime import run_setup
from gan.tracking import check_tracking, start_run
from gan.trained import load_trained

log = logging.getLogger(__name__)


def run(variant: str, seed: int | None = None, model: Path | None = None,
        out_dir: Path | None = None, params: Path = Path("params.yaml"),
        track: bool = True) -> None:
    """Draw the fixed-noise grid of a trained VARIANT (SEED: default the first of `seeds`) and
    the animation of its training.

    Paths default to data/models/VARIANT/seedSEED.pt and data/samples/VARIANT/seedSEED/.
    """
    check_tracking(track)
    p, paths, device = run_setup(params, variant, seed)
    out_dir = out_dir or paths.samples
    G, cfg, extra = load_trained(model or paths.model, device, paths.stage("train"))
    z, labels = fixed_noise(cfg.model, cfg.seed, device)
    rows = list(CLASS_NAMES) if cfg.model.conditional else None  # stacked: channel 0's class
    name = RunPaths(cfg.variant, cfg.seed).run_name  # the model's own seed
    if cfg.model.channels > 1:
        name += f", stacked x{cfg.model.channels}"
    grid_path, gif_path = out_dir / "grid.png", out_dir / "training.gif"
    save_png(grid_image(render(G, z, labels), rows, f"{name}, epoch {extra['epoch']}"), grid_path)
    save_animation([grid_image(f, rows, f"{name}, epoch {e}")
                    for f, e in zip(extra["frames"], extra["frame_epochs"], strict=True)],
                   gif_path)
    log.info("%s: wrote %s and %s (%d frames)", name, grid_path, gif_path,
             len(extra["frames"]))
    # Artifacts go to the variant's training run, whose id the checkpoint carries.
    with start_run(p.mlflow.experiment, name, {}, run_id=extra["run_id"], keep_end_time=True,
                   enabled=track and extra["run_id"] is not None) as tracker:
        tracker.log_artifact(grid_path, "samples")
        tracker.log_artifact(gif_path, "samples")
