"""Score images in the classifier's feature space against the cached test-set reference.

Stacked images (N, k, 28, 28) are read channel by channel: their features are the k channels'
features side by side (N, k*D), their probabilities (N, k, 10). So the stacked reference is
the single-image one with k images drawn per row (`Reference.stacked`), no second cache."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from gan import CLASS_NAMES, class_slug
from gan.checkpoint import load_checkpoint
from gan.config import EvalConfig
from gan.data.prepared import normalize
from gan.errors import BadInputError
from gan.eval.metrics import (
    class_coverage,
    feature_stats,
    frechet_distance,
    kid,
    prdc,
    vendi_score,
)
from gan.eval.modes import mode_coverage
from gan.files import load_file, save_file
from gan.models import classifier as _classifier_model  # noqa: F401 - registers it


@dataclass
class Reference:
    """Test-set statistics and the classifier's confusion matrix on held-out images, computed
    once by the `reference` stage."""

    features: torch.Tensor        # (N, D) float32; stacked: (N, k*D)
    labels: torch.Tensor          # (N,) int64; stacked: (N, k)
    mu: np.ndarray                # (D,) float64
    sigma: np.ndarray             # (D, D) float64
    class_mu: list[np.ndarray]    # per class (none for stacked images)
    class_sigma: list[np.ndarray]
    confusion: torch.Tensor       # (K, K) float64: P(predicted i | true j), see metrics

    def save(self, path: Path) -> None:
        payload = {"features": self.features, "labels": self.labels,
                   "mu": torch.from_numpy(self.mu), "sigma": torch.from_numpy(self.sigma),
                   "class_mu": torch.from_numpy(np.stack(self.class_mu)),
                   "class_sigma": torch.from_numpy(np.stack(self.class_sigma)),
                   "confusion": self.confusion}
        save_file(payload, path)

    @classmethod
    def load(cls, path: Path) -> Reference:
        rerun = "rerun `dvc repro reference` (or pass --reference)"
        p = load_file(path, "reference statistics", rerun)
        if not isinstance(p, dict) or "confusion" not in p:
            raise BadInputError(f"{path}: not reference statistics of this version; {rerun}")
        return cls(p["features"], p["labels"], p["mu"].numpy(), p["sigma"].numpy(),
                   list(p["class_mu"].numpy()), list(p["class_sigma"].numpy()), p["confusion"])

    @classmethod
    def from_features(cls, features: torch.Tensor, labels: torch.Tensor,
                      confusion: torch.Tensor) -> Reference:
        mu, sigma = feature_stats(features)
        per_class = [feature_stats(features[labels == k]) for k in range(len(CLASS_NAMES))]
        return cls(features, labels, mu, sigma, [m for m, _ in per_class],
                   [s for _, s in per_class], confusion)

    @property
    def stack(self) -> int:
        return 1 if self.labels.ndim == 1 else self.labels.shape[1]

    def stacked(self, stack: int, seed: int = 0) -> Reference:
        """The reference for Stacked Fashion-MNIST with `stack` channels: as many rows of
        `stack` test images drawn at random (seeded: every run compares to the same one),
        features concatenated; no per-class statistics (10**k classes are too many)."""
        if stack == 1:
            return self
        features, _, labels = stack_scores(self.features, None, self.labels, len(self.labels),
                                           stack, seed)
        mu, sigma = feature_stats(features)
        return Reference(features, labels, mu, sigma, [], [], self.confusion)


def load_classifier(path: Path, device: torch.device) -> nn.Module:
    """The pipeline's classifier, rebuilt from its checkpoint, in eval mode."""
    models, _ = load_checkpoint(path, device, "rerun `dvc repro train_classifier`")
    return models["classifier"].eval()


@torch.no_grad()
def embed(classifier: nn.Module, images: torch.Tensor, device: torch.device,
          batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (N, 28, 28) -> classifier features (N, D) and class probabilities (N, 10), on CPU.
    Stacked uint8 (N, k, 28, 28): each channel read as an image -> (N, k*D) and (N, k, 10)."""
    if images.ndim == 4:
        n, k = images.shape[:2]
        feats, probs = embed(classifier, images.flatten(0, 1), device, batch_size)
        return feats.view(n, k * feats.shape[1]), probs.view(n, k, -1)
    classifier.eval()
    feats, probs = [], []
    for start in range(0, len(images), batch_size):
        x = normalize(images[start:start + batch_size].to(device))  # (B, 1, 28, 28)
        f = classifier.features(x)
        feats.append(f.float().cpu())
        probs.append(classifier.head(f).softmax(1).float().cpu())
    return torch.cat(feats), torch.cat(probs)


def stack_scores(features: torch.Tensor, probs: torch.Tensor | None, labels: torch.Tensor,
                 n: int, stack: int, seed: int
                 ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """Scores of n stacked images built from `stack` images drawn uniformly (with replacement,
    seeded) from scored single images: features (n, stack*D), probabilities (n, stack, 10),
    labels (n, stack). Exactly what scoring the stacked pixels gives, since each channel is
    read on its own."""
    idx = torch.randint(len(labels), (n, stack), generator=torch.Generator().manual_seed(seed))
    return features[idx].flatten(1), None if probs is None else probs[idx], labels[idx]


def score(features: torch.Tensor, probs: torch.Tensor, ref: Reference, cfg: EvalConfig,
          labels: torch.Tensor | None = None, with_prdc: bool = True,
          mode_probs: torch.Tensor | None = None) -> dict:
    """FID, KID (mean and std over subsets), the Vendi score (effective number of distinct
    samples), class coverage (raw and corrected for the classifier's confusions, the unsure
    share) and (optionally) PRDC; with `labels` (conditioning or ground truth) also label
    accuracy and per-class FID (intra-class FID is their mean).

    Stacked images (probs (N, k, 10)): class coverage over every channel's image, the mode
    metrics (modes.mode_coverage) on `mode_probs` (another, larger draw; default `probs`),
    and with labels (N, k) the per-channel label accuracy and the share of samples whose
    whole mode is right (`mode_accuracy`); no intra-class FID (10**k classes)."""
    if features.shape[1] != ref.mu.shape[0]:
        raise BadInputError(f"features of {features.shape[1]} dimensions cannot be compared "
                            f"with a reference of {ref.mu.shape[0]}; score images with as many "
                            "channels as the reference was built for")
    result = {"n_samples": len(features),
              "fid": frechet_distance(*feature_stats(features), ref.mu, ref.sigma)}
    result["kid"], result["kid_std"] = kid(ref.features, features)
    result["vendi"] = vendi_score(features)
    result |= class_coverage(probs.flatten(0, -2), cfg.coverage_min_share,
                             cfg.confidence_threshold, ref.confusion)
    if probs.ndim == 3:
        result |= mode_coverage(probs if mode_probs is None else mode_probs,
                                cfg.mode_min_count, ref.confusion)
    if with_prdc:
        result |= prdc(ref.features, features)
    if labels is not None and labels.ndim == 2:
        right = probs.argmax(2) == labels                                 # (N, k)
        result["label_accuracy"] = float(right.float().mean())
        result["mode_accuracy"] = float(right.all(1).float().mean())
    elif labels is not None:
        result["label_accuracy"] = float((probs.argmax(1) == labels).float().mean())
        per_class = {}
        for k, name in enumerate(CLASS_NAMES):
            mask = labels == k
            if mask.sum() > features.shape[1]:  # enough samples for a full-rank covariance
                per_class[name] = frechet_distance(*feature_stats(features[mask]),
                                                   ref.class_mu[k], ref.class_sigma[k])
        result["class_fid"] = per_class
        result["intra_fid"] = float(np.mean(list(per_class.values()))) if per_class else None
    return result


def mlflow_metrics(result: dict, prefix: str = "") -> dict[str, float]:
    """Flatten a score() result into MLflow metric keys (class_share/5_sandal, ...)."""
    flat = {}
    for key, value in result.items():
        if isinstance(value, dict):
            flat |= {f"{prefix}{key}/{class_slug(name)}": v for name, v in value.items()}
        elif value is not None:
            flat[f"{prefix}{key}"] = float(value)
    return flat
