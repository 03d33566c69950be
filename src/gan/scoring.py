"""Score images in the classifier's feature space against the cached test-set reference."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from gan import CLASS_NAMES, class_slug
from gan.checkpoint import load_checkpoint
from gan.config import EvalConfig
from gan.data import normalize
from gan.errors import BadInputError
from gan.metrics import class_coverage, feature_stats, frechet_distance, prdc
from gan.models import classifier as _classifier_model  # noqa: F401 - registers it
from gan.torch_files import load_file, save_file


@dataclass
class Reference:
    """Test-set statistics and the classifier's confusion matrix on held-out images, computed
    once by the `reference` stage."""

    features: torch.Tensor        # (N, D) float32
    labels: torch.Tensor          # (N,) int64
    mu: np.ndarray                # (D,) float64
    sigma: np.ndarray             # (D, D) float64
    class_mu: list[np.ndarray]    # per class
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


def load_classifier(path: Path, device: torch.device) -> nn.Module:
    """The pipeline's classifier, rebuilt from its checkpoint, in eval mode."""
    models, _ = load_checkpoint(path, device, "rerun `dvc repro train_classifier`")
    return models["classifier"].eval()


@torch.no_grad()
def embed(classifier: nn.Module, images: torch.Tensor, device: torch.device,
          batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (N, 28, 28) -> classifier features (N, D) and class probabilities (N, 10), on CPU."""
    classifier.eval()
    feats, probs = [], []
    for start in range(0, len(images), batch_size):
        x = normalize(images[start:start + batch_size].to(device))  # (B, 1, 28, 28)
        f = classifier.features(x)
        feats.append(f.float().cpu())
        probs.append(classifier.head(f).softmax(1).float().cpu())
    return torch.cat(feats), torch.cat(probs)


def score(features: torch.Tensor, probs: torch.Tensor, ref: Reference, cfg: EvalConfig,
          labels: torch.Tensor | None = None, with_prdc: bool = True) -> dict:
    """FID, class coverage (raw and corrected for the classifier's confusions, the unsure
    share) and (optionally) PRDC; with `labels` (conditioning or ground truth) also label
    accuracy and per-class FID (intra-class FID is their mean)."""
    result = {"n_samples": len(features),
              "fid": frechet_distance(*feature_stats(features), ref.mu, ref.sigma)}
    result |= class_coverage(probs, cfg.coverage_min_share, cfg.confidence_threshold,
                             ref.confusion)
    if with_prdc:
        result |= prdc(ref.features, features)
    if labels is not None:
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
