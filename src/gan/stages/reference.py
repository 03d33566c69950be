"""Stage `reference`: test-set statistics in the classifier's feature space, computed once,
and the real-data reference rows of the report."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from gan.atomic import write_text
from gan.config import load_params
from gan.data import load_prepared
from gan.metrics import class_coverage, fid, prdc
from gan.runtime import device_for
from gan.scoring import Reference, embed, load_classifier

log = logging.getLogger(__name__)


def run(data: Path = Path("data/prepared/fashion_mnist.pt"),
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
    train_feats, _ = embed(model, train.images[:n], device, p.eval.batch_size)
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
