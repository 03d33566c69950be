"""The `reference` and `evaluate` stages: test-set statistics once, then every variant scored."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from gan.atomic import write_text
from gan.config import load_params
from gan.data import load_prepared
from gan.evaluate import Reference, embed, generate, load_classifier, mlflow_metrics, score
from gan.image_files import load_images
from gan.metrics import class_coverage, fid, prdc
from gan.runtime import device_for
from gan.tracking import start_run
from gan.train_state import load_trained

log = logging.getLogger(__name__)


def run_reference(data: Path = Path("data/prepared/fashion_mnist.pt"),
                  classifier: Path = Path("data/models/classifier.pt"),
                  out: Path = Path("data/eval/reference.pt"),
                  metrics_out: Path = Path("metrics/reference.json"),
                  params: Path = Path("params.yaml")) -> None:
    """Cache the test set's classifier statistics; report the real-data reference rows."""
    p = load_params(params)
    device = device_for(p)
    splits = load_prepared(data)
    model = load_classifier(classifier, device)
    test, train = splits["test"], splits["train"]
    n = min(p.eval.n_samples, len(test.labels))
    test_feats, test_probs = embed(model, test.images[:n], device, p.eval.batch_size)
    train_feats, train_probs = embed(model, train.images[:n], device, p.eval.batch_size)
    ref = Reference.from_features(test_feats, test.labels[:n])
    ref.save(out)
    metrics = {
        "n_samples": n,
        # FID of n real training images against the test set: the floor at this n.
        "fid_floor": fid(train_feats, test_feats),
        "test_set": class_coverage(test_probs, p.eval.coverage_min_share)
        | {"label_accuracy": float((test_probs.argmax(1) == test.labels[:n]).float().mean())},
        "train_subset": prdc(test_feats, train_feats),
    }
    write_text(metrics_out, json.dumps(metrics, indent=2) + "\n")
    log.info("reference: n=%d fid_floor=%.3f", n, metrics["fid_floor"])


def run_evaluate(variant: str, model: Path | None = None,
                 classifier: Path = Path("data/models/classifier.pt"),
                 reference: Path = Path("data/eval/reference.pt"),
                 out: Path | None = None, params: Path = Path("params.yaml"),
                 track: bool = True) -> None:
    """Score a trained VARIANT: FID, class coverage, precision/recall/density/coverage.

    Conditional variants also get label accuracy and intra-class FID. Writes
    metrics/VARIANT.json and logs to the variant's MLflow run.
    """
    model = model or Path(f"data/models/{variant}.pt")
    out = out or Path(f"metrics/{variant}.json")
    p = load_params(params)
    device = device_for(p)
    G, cfg, extra = load_trained(model, device, variant)
    ref = Reference.load(reference)
    n = len(ref.labels)
    images, labels = generate(G, n, cfg.model.z_dim, cfg.model.conditional, device,
                              seed=p.seed, batch_size=p.eval.batch_size)
    feats, probs = embed(load_classifier(classifier, device), images, device, p.eval.batch_size)
    result = {"variant": variant, "epoch": extra["epoch"]}
    result |= score(feats, probs, ref, p.eval.coverage_min_share, labels)
    write_text(out, json.dumps(result, indent=2) + "\n")
    log.info("%s: fid=%.3f classes_covered=%d kl_to_uniform=%.3f", variant, result["fid"],
             result["classes_covered"], result["kl_to_uniform"])
    with start_run(p.mlflow.experiment, variant, {}, run_id=extra["run_id"],
                   enabled=track and extra["run_id"] is not None) as tracker:
        tracker.log_metrics(mlflow_metrics({k: v for k, v in result.items()
                                            if k not in ("variant", "epoch")}, "eval/"))
        tracker.log_artifact(out, "metrics")


def run_score(images: Path, labels: Path | None = None,
              classifier: Path = Path("data/models/classifier.pt"),
              reference: Path = Path("data/eval/reference.pt"),
              params: Path = Path("params.yaml"), prdc_metrics: bool = True) -> None:
    """Score generated IMAGES from anywhere and print the metrics as JSON.

    IMAGES: a .npy, .npz or .pt of uint8 N x 28 x 28, or a folder of PNGs. Labels (optional,
    --labels or a `labels` array in the .npz/.pt) add label accuracy and intra-class FID.
    """
    p = load_params(params)
    device = device_for(p)
    imgs, lbls = load_images(images, labels)
    feats, probs = embed(load_classifier(classifier, device), imgs, device, p.eval.batch_size)
    result = score(feats, probs, Reference.load(reference), p.eval.coverage_min_share, lbls,
                   with_prdc=prdc_metrics)
    print(json.dumps(result, indent=2))
