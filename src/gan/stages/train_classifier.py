"""Stage `train_classifier`: the CNN through which FID and coverage are measured."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from gan import class_slug
from gan.checkpoint import save_checkpoint
from gan.config import load_params
from gan.data.prepared import load_prepared
from gan.eval.classify import evaluate, train_classifier
from gan.files import write_text
from gan.runtime import device_for
from gan.tracked_data import data_used
from gan.tracking import check_tracking, flatten, run_tags, start_run

log = logging.getLogger(__name__)

# The splits it reads: trained on, selected on (validation), reported on (evaluation).
CONTEXTS = {"train": "training", "val": "validation", "test": "evaluation"}


def run(data: Path = Path("data/prepared/fashion_mnist.pt"),
        model_out: Path = Path("data/models/classifier.pt"),
        metrics_out: Path = Path("metrics/classifier.json"),
        params: Path = Path("params.yaml"), track: bool = True) -> None:
    """Train the classifier, select on validation, report test accuracy (overall and per class)."""
    check_tracking(track)
    cfg = load_params(params)
    device = device_for(cfg)
    splits = load_prepared(data)
    log.info("training classifier on %d images, device %s", len(splits["train"].labels), device)
    tags = run_tags("train_classifier")
    with start_run(cfg.mlflow.experiment, "classifier", tags, enabled=track,
                   system_metrics_s=cfg.mlflow.system_metrics) as tracker:
        tracker.log_params({**flatten(cfg), "device_resolved": str(device)})
        tracker.log_inputs([data_used(data, split, len(splits[split].labels), 1, context)
                            for split, context in CONTEXTS.items()])
        model, selection = train_classifier(splits, cfg.classifier, cfg.seed, device, tracker)
        test = evaluate(model, splits["test"], device)
        metrics = {"test_accuracy": test["accuracy"],
                   "best_val_accuracy": selection["val_accuracy"],
                   "best_epoch": selection["best_epoch"],
                   "per_class_accuracy": test["per_class_accuracy"]}
        save_checkpoint(model_out, {"classifier": model}, extra={"metrics": metrics})
        write_text(metrics_out, json.dumps(metrics, indent=2) + "\n")
        tracker.log_metrics({k: v for k, v in metrics.items() if k != "per_class_accuracy"})
        tracker.log_metrics({f"test_accuracy/{class_slug(name)}": v
                             for name, v in test["per_class_accuracy"].items()})
        tracker.log_artifact(metrics_out)
    log.info("test accuracy %.4f (best epoch %d)", metrics["test_accuracy"], metrics["best_epoch"])
