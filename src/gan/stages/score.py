"""`gan score`: score images made anywhere, as the evaluate stage scores a variant. A command
beside the stages, not a DVC stage."""

from __future__ import annotations

import json
from pathlib import Path

from gan.config import load_params
from gan.data.image_files import load_images
from gan.eval.scoring import Reference, embed, load_classifier, score
from gan.runtime import device_for


def run(images: Path, labels: Path | None = None,
        classifier: Path = Path("data/models/classifier.pt"),
        reference: Path = Path("data/eval/reference.pt"),
        params: Path = Path("params.yaml"), prdc_metrics: bool = True) -> None:
    """Score generated IMAGES from anywhere and print the metrics as JSON.

    IMAGES: a .npy, .npz or .pt of uint8 N x 28 x 28, or a folder of PNGs. Labels (optional,
    --labels or a `labels` array in the .npz/.pt) add label accuracy and intra-class FID.
    Stacked Fashion-MNIST images, uint8 N x 3 x 28 x 28 (a class per channel), get the mode
    metrics over all N (modes covered of 1,000, KL) against a stacked test reference; their
    labels are N x 3.
    """
    p = load_params(params)
    device = device_for(p)
    imgs, lbls = load_images(images, labels)
    feats, probs = embed(load_classifier(classifier, device), imgs, device, p.eval.batch_size)
    stack = 1 if imgs.ndim == 3 else imgs.shape[1]
    ref = Reference.load(reference).stacked(stack)
    result = score(feats, probs, ref, p.eval, lbls, with_prdc=prdc_metrics)
    print(json.dumps(result, indent=2))
