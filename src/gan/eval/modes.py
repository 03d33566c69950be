"""Mode metrics of Stacked Fashion-MNIST (the protocol of PacGAN, Lin et al. 2018): a sample's
mode is the tuple of the classes the classifier reads in its channels, one of 10**k modes.

Counted as PacGAN counts: a mode is covered when it holds at least `min_count` samples (1),
and the KL divergence of the mode histogram to the uniform one. Corrected figures undo the
classifier's confusions: the confusion of a k-tuple is the Kronecker product of the per-image
confusion matrix (the channels are read independently), inverted as metrics.corrected_shares
does for 10 classes. The inverted histogram gives the corrected KL; it is too noisy to count
modes on (sampling noise leaks into empty modes at tens of samples), so a mode counts as
covered after correction when it holds more samples than the confusions of the other modes
would put there: `Z_COVERED` Poisson standard deviations above that expectation."""

from __future__ import annotations

from functools import reduce

import torch

from gan import CLASS_NAMES
from gan.data.prepared import NUM_CLASSES, mode_index, n_modes
from gan.eval.metrics import corrected_shares, kl_to_uniform


def mode_confusion(confusion: torch.Tensor, stack: int) -> torch.Tensor:
    """(10, 10) P(predicted i | true j) of one image -> (10**k, 10**k) of a k-tuple, indexed as
    mode_index: the Kronecker product, since each channel is classified on its own."""
    return reduce(torch.kron, [confusion.double()] * stack)


def mode_histogram(classes: torch.Tensor, stack: int) -> torch.Tensor:
    """Class tuples (N, k) -> share of samples in each mode (10**k,), float64."""
    counts = torch.bincount(mode_index(classes).cpu(), minlength=n_modes(stack)).double()
    return counts / counts.sum()


Z_COVERED = 3.0


def mode_coverage(probs: torch.Tensor, min_count: int = 1,
                  confusion: torch.Tensor | None = None) -> dict:
    """Mode metrics of stacked samples from the classifier's per-channel probabilities
    (N, k, 10): modes covered (at least `min_count` samples), KL(p || uniform over 10**k) in
    nats, each channel's class shares (`class_share_ch<c>`) and, with the per-image
    `confusion`, the same corrected for the classifier's mistakes (see the module's note)."""
    n, k, _ = probs.shape
    classes = probs.argmax(2)                                              # (N, k)
    share = mode_histogram(classes, k)                                     # (10**k,)
    result = {"n_modes": n_modes(k), "mode_n_samples": n,
              "modes_covered": int((share * n >= min_count - 1e-9).sum()),
              "modes_kl": kl_to_uniform(share)}
    for c in range(k):
        counts = torch.bincount(classes[:, c].cpu(), minlength=NUM_CLASSES).double()
        result[f"class_share_ch{c}"] = {name: float(s) for name, s in
                                        zip(CLASS_NAMES, counts / n, strict=True)}
    if confusion is not None:
        big = mode_confusion(confusion, k)
        fixed = corrected_shares(share, big)                    # estimated true shares
        from_others = n * (big @ fixed - big.diagonal() * fixed)  # expected misread counts
        beyond = share * n >= from_others + Z_COVERED * from_others.sqrt() + min_count - 1e-9
        result |= {"modes_covered_corrected": int(beyond.sum()),
                   "modes_kl_corrected": kl_to_uniform(fixed)}
    return result

