"""Stage `train@<variant>-<seed>`: train one GAN variant with one seed, resumable, writing
generator snapshots.

Training reads no classifier and no evaluation code: the evaluate stage scores the snapshots.
"""

from __future__ import annotations

import csv
import io
import logging
import shutil
from dataclasses import asdict
from pathlib import Path

import torch

from gan.atomic import write_text
from gan.config import load_params
from gan.data import load_prepared, normalize
from gan.generate import fixed_noise, render
from gan.layout import RunPaths
from gan.progress import Progress
from gan.remedy_tags import variant_run_tags
from gan.runtime import device_for
from gan.store_check import TrackingUnavailable
from gan.tracking import check_tracking, flatten, run_tags, start_run
from gan.train_files import (
    fingerprint,
    load_state,
    prune_snapshots,
    restore_mirror,
    resume_mirror,
    save_mirror,
    save_snapshot,
    save_state,
)
from gan.train_state import TrainState, add_frame, init_state, ready_sampler, train_config
from gan.training import METRICS, check_batch_size, train

log = logging.getLogger(__name__)


def history_csv(history: list[dict[str, float]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["epoch", *METRICS], lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    return buf.getvalue()


def snapshot_due(epoch: int, epochs: int, every: int) -> bool:
    """Snapshots at multiples of eval.eval_every and at the last epoch (0: the last only)."""
    return epoch == epochs or (every > 0 and epoch % every == 0)


def run(variant: str, seed: int | None = None,
        data: Path = Path("data/prepared/fashion_mnist.pt"),
        out: Path | None = None, state_dir: Path | None = None,
        snapshot_dir: Path | None = None, metrics_csv: Path | None = None,
        params: Path = Path("params.yaml"), track: bool = True, quiet: bool = False) -> None:
    """Train one GAN VARIANT (a key of `variants` in params.yaml) with SEED (default: the first
    of `seeds`), resuming if interrupted.

    Resumes from STATE_DIR/last.pt. Every eval.eval_every epochs (and at the last) a generator
    snapshot goes to SNAPSHOT_DIR for the evaluate stage. Paths default to
    data/models/VARIANT/seedSEED.pt, data/checkpoints/VARIANT/seedSEED,
    data/snapshots/VARIANT/seedSEED and metrics/train/VARIANT/seedSEED.csv.
    """
    check_tracking(track)
    p = load_params(params)
    paths = RunPaths.of(p, variant, seed)
    out = out or paths.model
    state_dir = state_dir or paths.checkpoints
    snapshot_dir = snapshot_dir or paths.snapshots
    metrics_csv = metrics_csv or paths.losses
    cfg = train_config(p, variant, paths.seed)
    device = device_for(p)
    train_split = load_prepared(data)["train"]
    check_batch_size(cfg, len(train_split.labels))
    run_key = fingerprint(train_split.images)
    x = normalize(train_split.images).to(device)  # (N, 1, 28, 28) resident on the device
    y = train_split.labels.to(device)             # (N,)
    last = state_dir / "last.pt"
    mirror = resume_mirror(cfg, run_key)  # only inside DVC's temporary experiment copies
    if mirror is not None:
        restore_mirror(mirror, last, snapshot_dir)
    state = load_state(last, cfg, device, run_key) or init_state(cfg, device)
    prune_snapshots(snapshot_dir, after_epoch=state.epoch)  # none survive a fresh start
    z_fixed, labels_fixed = fixed_noise(cfg.model, cfg.seed, device)
    if not state.frames:  # frame 0: the untrained generator (pure noise)
        add_frame(state, render(ready_sampler(state, cfg, device), z_fixed, labels_fixed))

    tags = run_tags("train") | variant_run_tags(variant, cfg.seed, cfg.arch, cfg.model.channels,
                                                p.variant(variant))
    with start_run(p.mlflow.experiment, paths.run_name, tags, run_id=state.run_id,
                   enabled=track) as tracker, \
            Progress(f"train {paths.run_name}", cfg.epochs, state.epoch,
                     steps=len(y) // cfg.batch_size, quiet=quiet,
                     sync=torch.cuda.synchronize if device.type == "cuda" else None
                     ) as progress:
        if state.run_id is None:
            tracker.log_params({**flatten(asdict(cfg)), "device": str(device),
                                "n_train": len(y)})
        state.run_id = tracker.run_id or state.run_id

        def on_epoch(st: TrainState, row: dict[str, float]) -> None:
            st.history.append({"epoch": st.epoch, **row})
            sampler = ready_sampler(st, cfg, device)
            if st.epoch % cfg.grid_every == 0 or st.epoch == cfg.epochs:
                add_frame(st, render(sampler, z_fixed, labels_fixed))
            if snapshot_due(st.epoch, cfg.epochs, p.eval.eval_every):
                save_snapshot(snapshot_dir, st, cfg)
            try:  # before the checkpoint: a lost store costs this epoch, never a logged point
                tracker.log_metrics(row | {"lr_d": st.opt_d.param_groups[0]["lr"]},
                                    step=st.epoch)
            except TrackingUnavailable as exc:
                raise TrackingUnavailable(
                    f"{exc}; training stopped before checkpointing epoch {st.epoch}: rerun the "
                    f"stage when the store answers and it resumes after epoch {st.epoch - 1} "
                    "into the same MLflow run") from exc
            save_state(last, st, cfg, run_key)  # after the snapshot: a resume never misses one
            if mirror is not None:
                save_mirror(mirror, last, snapshot_dir)
            write_text(metrics_csv, history_csv(st.history))
            progress.advance(st.epoch, row)

        log.info("training %s (%s) on %d %simages, device %s, from epoch %d", paths.run_name,
                 cfg.arch, len(y), f"x{cfg.model.channels} stacked " if cfg.model.channels > 1
                 else "", device, state.epoch)
        train(state, cfg, x, y, on_epoch, on_step=progress.step)
        save_state(out, state, cfg, run_key)
        write_text(metrics_csv, history_csv(state.history))
    if mirror is not None:  # finished: nothing left to resume
        shutil.rmtree(mirror, ignore_errors=True)
