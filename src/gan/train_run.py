"""The `train` stage: train one variant with resume, per-epoch logging and checkpoints."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from gan.atomic import write_text
from gan.config import Params, load_params
from gan.data import load_prepared, normalize
from gan.evaluate import Reference, load_classifier, progress_metrics
from gan.runtime import device_for
from gan.tracking import flatten, run_tags, start_run
from gan.train import METRICS, train
from gan.train_state import (
    TrainConfig,
    TrainState,
    add_frame,
    fingerprint,
    fixed_noise,
    init_state,
    load_state,
    render,
    save_state,
    train_config,
)

log = logging.getLogger(__name__)


def history_csv(history: list[dict[str, float]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["epoch", *METRICS], lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    return buf.getvalue()


def run_train_gan(variant: str, data: Path = Path("data/prepared/fashion_mnist.pt"),
                  out: Path | None = None, state_dir: Path | None = None,
                  metrics_csv: Path | None = None,
                  classifier: Path = Path("data/models/classifier.pt"),
                  reference: Path = Path("data/eval/reference.pt"),
                  params: Path = Path("params.yaml"), track: bool = True) -> None:
    """Train one GAN VARIANT (a key of `variants` in params.yaml), resuming if interrupted.

    Resumes from STATE_DIR/last.pt. Paths default to data/models/VARIANT.pt,
    data/checkpoints/VARIANT and metrics/train/VARIANT.csv. Every eval.eval_every epochs,
    class coverage and a quick FID (through CLASSIFIER, against REFERENCE) go to MLflow.
    """
    out = out or Path(f"data/models/{variant}.pt")
    state_dir = state_dir or Path(f"data/checkpoints/{variant}")
    metrics_csv = metrics_csv or Path(f"metrics/train/{variant}.csv")
    p = load_params(params)
    cfg = train_config(p, variant)
    device = device_for(p)
    train_split = load_prepared(data)["train"]
    run_key = fingerprint(train_split.images)
    x = normalize(train_split.images).to(device)  # (N, 1, 28, 28) resident on the device
    y = train_split.labels.to(device)             # (N,)
    last = state_dir / "last.pt"
    state = load_state(last, cfg, device, run_key) or init_state(cfg, device)
    z_fixed, labels_fixed = fixed_noise(cfg, device)
    if not state.frames:  # frame 0: the untrained generator (pure noise)
        add_frame(state, render(state.sampler, z_fixed, labels_fixed))

    check = _progress_check(p, cfg, classifier, reference, device)
    tags = run_tags("train") | {"variant": variant, "architecture": cfg.arch}
    with start_run(p.mlflow.experiment, variant, tags, run_id=state.run_id,
                   enabled=track) as tracker:
        if state.run_id is None:
            tracker.log_params({**flatten(asdict(cfg)), "device": str(device),
                                "n_train": len(y)})
        state.run_id = tracker.run_id or state.run_id

        def on_epoch(st: TrainState, row: dict[str, float]) -> None:
            st.history.append({"epoch": st.epoch, **row})
            if st.epoch % cfg.grid_every == 0 or st.epoch == cfg.epochs:
                add_frame(st, render(st.sampler, z_fixed, labels_fixed))
            save_state(last, st, cfg, run_key)
            write_text(metrics_csv, history_csv(st.history))
            tracker.log_metrics(row, step=st.epoch)
            if check and st.epoch % p.eval.eval_every == 0:
                tracker.log_metrics(check(st.sampler, st.epoch), step=st.epoch)

        log.info("training %s (%s) on %d images, device %s, from epoch %d", variant, cfg.arch,
                 len(y), device, state.epoch)
        train(state, cfg, x, y, on_epoch)
        save_state(out, state, cfg, run_key)
        write_text(metrics_csv, history_csv(state.history))


def _progress_check(p: Params, cfg: TrainConfig, classifier: Path, reference: Path,
                    device: torch.device) -> Callable[[nn.Module, int], dict] | None:
    """The in-training coverage/FID check, or None when eval.eval_every is 0."""
    if p.eval.eval_every == 0:
        return None
    model = load_classifier(classifier, device)
    ref = Reference.load(reference)
    return lambda G, epoch: progress_metrics(
        G, cfg.model.z_dim, cfg.model.conditional, model, ref, p.eval.train_n_samples,
        p.eval.coverage_min_share, device, seed=p.seed + epoch, batch_size=p.eval.batch_size)
