"""Sample-quality metrics on any feature/probability tensors: FID, class coverage, and
precision/recall/density/coverage (Naeem et al., 2020) in a classifier's feature space."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import scipy.linalg
import scipy.optimize
import torch

from gan import CLASS_NAMES
from gan.errors import PipelineError

log = logging.getLogger(__name__)


class MetricError(PipelineError, ValueError):
    """Metric inputs are unusable (too few samples, a non-real matrix square root...)."""


def feature_stats(features: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) features -> mean (D,) and covariance (D, D), in float64."""
    x = features.detach().cpu().double().numpy()
    n, d = x.shape
    if n <= d:
        raise MetricError(f"{n} samples cannot give a full-rank covariance of {d} features; "
                          f"use more than {d} images")
    return x.mean(axis=0), np.cov(x, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                     sigma2: np.ndarray, eps: float = 1e-6) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) for two Gaussians."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    singular = any(issubclass(w.category, scipy.linalg.LinAlgWarning) for w in caught)
    if singular or not np.isfinite(covmean).all():
        log.warning("FID: S1 S2 is singular; adding %g to the diagonal of both covariances", eps)
        offset = np.eye(len(mu1)) * eps
        covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        imag = np.abs(covmean.imag).max()
        if imag > 1e-3 * max(1.0, np.abs(covmean.real).max()):
            raise MetricError(f"FID: the matrix square root has an imaginary part of {imag:.3g}; "
                              "the covariances are ill-conditioned (use more samples)")
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def fid(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    return frechet_distance(*feature_stats(features_a), *feature_stats(features_b))


def kl_to_uniform(share: torch.Tensor) -> float:
    """KL(share || uniform over its bins) in nats; empty bins contribute nothing."""
    nonzero = share[share > 0]
    return float((nonzero * (nonzero * len(share)).log()).sum())


def class_coverage(probs: torch.Tensor, min_share: float = 0.02,
                   confidence_threshold: float = 0.5,
                   confusion: torch.Tensor | None = None) -> dict:
    """Per-class share of samples by predicted class, classes covered, KL to uniform (nats),
    mean confidence, and the share of samples whose top probability is below
    `confidence_threshold` (`unsure_share`). With the classifier's `confusion` matrix, also
    the shares corrected for its mistakes (see corrected_shares) and their coverage and KL."""
    k = probs.shape[1]
    counts = torch.bincount(probs.argmax(1).cpu(), minlength=k).double()
    share = counts / counts.sum()
    top = probs.max(1).values
    result = {
        "class_share": {name: float(s) for name, s in zip(CLASS_NAMES, share, strict=True)},
        "classes_covered": int((share >= min_share).sum()),
        "kl_to_uniform": kl_to_uniform(share),
        "mean_confidence": float(top.mean()),
        "unsure_share": float((top < confidence_threshold).double().mean()),
    }
    if confusion is not None:
        fixed = corrected_shares(share, confusion)
        result |= {
            "class_share_corrected": {n: float(s) for n, s in zip(CLASS_NAMES, fixed,
                                                                   strict=True)},
            "classes_covered_corrected": int((fixed >= min_share).sum()),
            "kl_to_uniform_corrected": kl_to_uniform(fixed),
        }
    return result


def confusion_matrix(probs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """C[i, j] = P(predicted i | true class j), from held-out images with known labels;
    float64 (K, K), each column sums to 1."""
    k = probs.shape[1]
    pairs = probs.argmax(1).cpu() * k + labels.cpu()
    counts = torch.bincount(pairs, minlength=k * k).double().view(k, k)
    return counts / counts.sum(0, keepdim=True).clamp(min=1)


def corrected_shares(predicted: torch.Tensor, confusion: torch.Tensor) -> torch.Tensor:
    """Black-box shift estimation (Lipton et al., 2018): the true class shares q that the
    classifier's predicted shares p = C q come from, solved as non-negative least squares and
    normalised. Undoes the classifier's confusions (shirts read as T-shirts...), which pull an
    imbalanced histogram toward uniform."""
    q, _ = scipy.optimize.nnls(confusion.double().numpy(), predicted.double().cpu().numpy())
    q = torch.from_numpy(q)
    return q / q.sum() if q.sum() > 0 else predicted.double().cpu()


def _knn_radii(x: torch.Tensor, k: int, chunk: int = 2048) -> torch.Tensor:
    """Distance from each row of x to its k-th nearest other row."""
    radii = []
    for start in range(0, len(x), chunk):
        d = torch.cdist(x[start:start + chunk], x)               # (c, N)
        radii.append(d.kthvalue(k + 1, dim=1).values)            # +1: the point itself
    return torch.cat(radii)


def _within(a: torch.Tensor, b: torch.Tensor, radii_b: torch.Tensor,
            chunk: int = 2048) -> torch.Tensor:
    """(len(a), ) count, for each row of a, of the rows of b whose radius ball contains it."""
    counts = []
    for start in range(0, len(a), chunk):
        d = torch.cdist(a[start:start + chunk], b)               # (c, M)
        counts.append((d <= radii_b[None, :]).sum(1))
    return torch.cat(counts)


def prdc(real: torch.Tensor, fake: torch.Tensor, k_pr: int = 3, k_dc: int = 5) -> dict:
    """Precision and recall (k-NN manifolds, k_pr) and density and coverage (k_dc)."""
    real, fake = real.float(), fake.float()
    if min(len(real), len(fake)) <= max(k_pr, k_dc):
        raise MetricError(f"precision/recall need more than {max(k_pr, k_dc)} samples per set")
    real_r_pr, fake_r_pr = _knn_radii(real, k_pr), _knn_radii(fake, k_pr)
    real_r_dc = real_r_pr if k_dc == k_pr else _knn_radii(real, k_dc)
    in_real = _within(fake, real, real_r_dc)
    nearest_fake = torch.cat([torch.cdist(real[s:s + 2048], fake).min(1).values
                              for s in range(0, len(real), 2048)])
    return {
        "precision": float((_within(fake, real, real_r_pr) > 0).float().mean()),
        "recall": float((_within(real, fake, fake_r_pr) > 0).float().mean()),
        "density": float(in_real.sum() / (k_dc * len(fake))),
        "coverage": float((nearest_fake <= real_r_dc).float().mean()),
    }



def poly_mmd2(x: torch.Tensor, y: torch.Tensor, degree: int = 3, coef: float = 1.0) -> float:
    """Unbiased squared MMD between feature sets x (m, D) and y (n, D) under the polynomial
    kernel k(a, b) = (a.b / D + coef) ** degree (KID's kernel, Binkowski et al. 2018)."""
    x, y = x.double(), y.double()
    d, m, n = x.shape[1], len(x), len(y)
    k_xx, k_yy = (x @ x.T / d + coef) ** degree, (y @ y.T / d + coef) ** degree
    k_xy = (x @ y.T / d + coef) ** degree
    within_x = (k_xx.sum() - k_xx.diagonal().sum()) / (m * (m - 1))
    within_y = (k_yy.sum() - k_yy.diagonal().sum()) / (n * (n - 1))
    return float(within_x + within_y - 2 * k_xy.mean())


def kid(real: torch.Tensor, fake: torch.Tensor, subsets: int = 100, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
    """Kernel Inception Distance in these features: poly_mmd2 over `subsets` random subsets
    of `subset_size` (fewer when a set is smaller) of each set, drawn with their own seeded
    generator; its mean and standard deviation over the subsets. Unbiased, so it settles
    with fewer samples than FID."""
    m = min(subset_size, len(real), len(fake))
    if m < 2:
        raise MetricError("KID needs at least two samples per set")
    gen = torch.Generator().manual_seed(seed)
    values = [poly_mmd2(real[torch.randperm(len(real), generator=gen)[:m]],
                        fake[torch.randperm(len(fake), generator=gen)[:m]])
              for _ in range(subsets)]
    return float(np.mean(values)), float(np.std(values))


def vendi_score(features: torch.Tensor) -> float:
    """The Vendi score (Friedman & Dieng, 2023): the exponential of the Shannon entropy of the
    eigenvalues of the cosine-similarity kernel matrix / N, the effective number of distinct
    samples (1 for copies of one sample, N for orthogonal ones). Computed from the D x D
    covariance of the normalised features, which has the same non-zero eigenvalues."""
    x = features.double()
    x = x / x.norm(dim=1, keepdim=True).clamp(min=1e-12)
    w = torch.linalg.eigvalsh(x.T @ x / len(x)).clamp(min=0)
    w = w[w > 0]
    return float(torch.exp(-(w * w.log()).sum()))
