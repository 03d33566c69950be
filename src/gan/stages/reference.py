"""Stage `reference`: test-set statistics in the classifier's feature space, computed once,
and the real-data reference rows of the report (with data.stack > 1 also the row of real
Stacked Fashion-MNIST: what a perfect generator scores through this classifier)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch

from gan.config import Params, load_params
from gan.data.prepared import load_prepared
from gan.eval.metrics import class_coverage, confusion_matrix
from gan.eval.scoring import Reference, embed, load_classifier, score, stack_scores
from gan.files import write_text
from gan.runtime import device_for

log = logging.getLogger(__name__)


def stacked_row(feats: torch.Tensor, probs: torch.Tensor, labels: torch.Tensor,
                ref: Reference, p: Params) -> dict:
    """Real stacked images built from held-out images, scored as a generator's samples are
    (the same N against the same stacked test reference; modes over eval.mode_n_samples):
    the FID floor and the modes a perfect generator covers, given the classifier's
    confusions."""
    k, n = p.data.stack, len(labels)
    n_draw = max(n, p.eval.mode_n_samples)
    s_feats, s_probs, s_labels = stack_scores(feats, probs, labels, n_draw, k, seed=1)
    row = score(s_feats[:n], s_probs[:n], ref.stacked(k), p.eval, s_labels[:n],
                mode_probs=s_probs[:p.eval.mode_n_samples])
    return {"stack": k} | row


def run(data: Path = Path("data/prepared/fashion_mnist.pt"),
        classifier: Path = Path("data/models/classifier.pt"),
        out: Path = Path("data/eval/reference.pt"),
        metrics_out: Path = Path("metrics/reference.json"),
        params: Path = Path("params.yaml")) -> None:
    """Cache the test set's classifier statistics and the classifier's confusion matrix on
    held-out (validation) images; report the real-data reference rows and the FID floors."""
    p = load_params(params)
    device = device_for(p)
    splits = load_prepared(data)
    model = load_classifier(classifier, device)
    test, val = splits["test"], splits["val"]
    # One N for every FID: the floor is measured with as many held-out images as samples.
    n = min(p.eval.n_samples, len(test.labels), len(val.labels))
    test_feats, test_probs = embed(model, test.images[:n], device, p.eval.batch_size)
    val_feats, val_probs = embed(model, val.images[:n], device, p.eval.batch_size)
    ref = Reference.from_features(test_feats, test.labels[:n],
                                  confusion_matrix(val_probs, val.labels[:n]))
    ref.save(out)
    # Held-out images the classifier never trained on, scored like a perfect generator's
    # samples: their FID and intra-class FID are the floors at this N.
    held_out = score(val_feats, val_probs, ref, p.eval, val.labels[:n])
    test_row = class_coverage(test_probs, p.eval.coverage_min_share, p.eval.confidence_threshold,
                              ref.confusion)
    metrics = {
        "n_samples": n,
        "fid_floor": held_out["fid"],
        "intra_fid_floor": held_out["intra_fid"],
        "test_set": test_row | {"label_accuracy": float(
            (test_probs.argmax(1) == test.labels[:n]).float().mean())},
        "held_out": held_out,
    }
    if p.data.stack > 1:
        metrics["stacked"] = stacked_row(val_feats, val_probs, val.labels[:n], ref, p)
    write_text(metrics_out, json.dumps(metrics, indent=2) + "\n")
    log.info("reference: n=%d fid_floor=%.3f intra_fid_floor=%s", n, metrics["fid_floor"],
             metrics["intra_fid_floor"])
