"""Stage `train@<variant>-<seed>`: train one GAN variant with one seed, resumable, writing
generator snapshots.

Training reads no classifier and no evaluation code: the evaluate stage scores the snapshots.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

import torch

from gan.data.prepared import load_prepared, normalize
from gan.errors import Interrupted
from gan.generate import fixed_noise, render
from gan.layout import stop_requested
from gan.logged_model import WEIGHTS_TAG, log_generator
from gan.progress import Progress
from gan.remedies import variant_run_tags
from gan.run_config import train_config
from gan.run_life import tag_interrupted
from gan.runtime import run_setup, sigterm_deferred
from gan.store import TrackingUnavailable
from gan.tracked_data import data_used, dataset_name
from gan.tracking import Tracker, check_tracking, flatten, run_tags, start_run
from gan.train.loop import check_batch_size, train
from gan.train.state import (
    RunFiles,
    TrainState,
    add_frame,
    fingerprint,
    ready_sampler,
    resume_mirror,
)

log = logging.getLogger(__name__)


def log_epoch(tracker: Tracker, state: TrainState, row: dict[str, float]) -> None:
    """An epoch's figures to MLflow; a store lost here stops training before the checkpoint."""
    try:
        tracker.log_metrics(row | {"lr_d": state.opt_d.param_groups[0]["lr"]}, step=state.epoch)
    except TrackingUnavailable as exc:
        raise TrackingUnavailable(
            f"{exc}; training stopped before checkpointing epoch {state.epoch}: rerun the "
            f"stage when the store answers and it resumes after epoch {state.epoch - 1} "
            "into the same MLflow run") from exc


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
    p, paths, device = run_setup(params, variant, seed)
    cfg = train_config(p, variant, paths.seed)
    train_split = load_prepared(data)["train"]
    check_batch_size(cfg, len(train_split.labels))
    run_key = fingerprint(train_split.images)
    x = normalize(train_split.images).to(device)  # (N, 1, 28, 28) resident on the device
    y = train_split.labels.to(device)             # (N,)
    files = RunFiles(state_dir or paths.checkpoints, snapshot_dir or paths.snapshots,
                     metrics_csv or paths.losses, run_key, p.eval.eval_every,
                     resume_mirror(cfg, run_key))
    state = files.start(cfg, device)
    z_fixed, labels_fixed = fixed_noise(cfg.model, cfg.seed, device)

    def frame(sampler: torch.nn.Module) -> torch.Tensor:
        return render(sampler, z_fixed, labels_fixed)

    if not state.frames:  # frame 0: the untrained generator (pure noise)
        add_frame(state, frame(ready_sampler(state, cfg, device)))

    tags = run_tags("train") | variant_run_tags(variant, cfg.seed, cfg.arch, cfg.model.channels,
                                                p.variant(variant))
    with start_run(p.mlflow.experiment, paths.run_name, tags, run_id=state.run_id,
                   enabled=track, system_metrics_s=p.mlflow.system_metrics) as tracker, \
            Progress(f"train {paths.run_name}", cfg.epochs, state.epoch,
                     steps=len(y) // cfg.batch_size, quiet=quiet,
                     sync=torch.cuda.synchronize if device.type == "cuda" else None
                     ) as progress:
        if state.run_id is None:
            tracker.log_params({**flatten(asdict(cfg)), "device": str(device),
                                "n_train": len(y)})
            tracker.log_inputs([data_used(data, "train", len(y), cfg.model.channels,
                                          "training")])
        state.run_id = tracker.run_id or state.run_id

        def on_epoch(st: TrainState, row: dict[str, float]) -> None:
            with sigterm_deferred():  # a resume never logs an epoch twice
                files.write_epoch(st, cfg, device, row, frame,
                                  lambda: log_epoch(tracker, st, row))
            progress.advance(st.epoch, row)
            if stop_requested() and st.epoch < cfg.epochs:  # Slurm: the time limit is near
                note = (f"stopped after epoch {st.epoch} of {cfg.epochs} at the scheduler's "
                        "request; resumes from it when the task runs again")
                tracker.call(tag_interrupted, note)
                raise Interrupted(f"train {paths.run_name}: {note}")

        log.info("training %s (%s) on %d %simages, device %s, from epoch %d", paths.run_name,
                 cfg.arch, len(y), f"x{cfg.model.channels} stacked " if cfg.model.channels > 1
                 else "", device, state.epoch)
        train(state, cfg, x, y, on_epoch, on_step=progress.step)
        files.finish(out or paths.model, state, cfg)
        model_tags = tags | {"dataset": dataset_name(cfg.model.channels)}
        for weights, G in (("generator", state.G), ("generator_ema", state.ema)):
            if G is not None:  # the final generator as an MLflow model of this run
                name = paths.run_name.replace(" ", "-") + ("-ema" if weights != "generator"
                                                           else "")
                tracker.call(log_generator, G, name, cfg, state.epoch, {
                    k: model_tags[k] for k in ("variant", "seed", "remedy", "dataset")}
                    | {"epochs": state.epoch, "steps": state.step},
                    model_tags | {WEIGHTS_TAG: weights})
    files.drop_mirror()
