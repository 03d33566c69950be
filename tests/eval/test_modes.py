"""Stacked Fashion-MNIST's mode metrics, on real stacked images with known answers."""

import math

import pytest
import torch
import torch.nn.functional as F

from gan.data.prepared import mode_classes, mode_index, n_modes
from gan.eval.metrics import corrected_shares, kl_to_uniform
from gan.eval.modes import mode_confusion, mode_coverage, mode_histogram
from tests.stacked import stack_images


def true_probs(labels: torch.Tensor) -> torch.Tensor:
    """The classifier replaced by the true labels: one-hot probabilities (N, k, 10)."""
    return F.one_hot(labels, 10).double()


def test_mode_index_is_the_class_tuple_read_as_a_number():
    classes = torch.tensor([[0, 0, 0], [1, 2, 3], [9, 9, 9], [0, 0, 7]])
    assert mode_index(classes).tolist() == [0, 123, 999, 7]
    every = torch.arange(1000)
    assert torch.equal(mode_index(mode_classes(every, 3)), every)
    assert n_modes(3) == 1000 and n_modes(1) == 10


def test_real_stacked_images_of_one_class_triple_cover_one_mode(small_splits):
    split = small_splits["train"]
    picks = [split.labels == c for c in (1, 8, 5)]  # trouser, bag, sandal
    n = int(min(p.sum() for p in picks))
    images = torch.stack([split.images[p][:n] for p in picks], 1)    # (n, 3, 28, 28)
    labels = torch.stack([split.labels[p][:n] for p in picks], 1)    # (n, 3)
    assert images.shape == (n, 3, 28, 28)
    result = mode_coverage(true_probs(labels))
    assert result["modes_covered"] == 1 and result["n_modes"] == 1000
    assert result["modes_kl"] == pytest.approx(math.log(1000))
    assert result["class_share_ch1"]["bag"] == 1.0 and result["class_share_ch2"]["sandal"] == 1.0


@pytest.mark.parametrize("n", [2000, 26000])
def test_uniform_stacking_of_real_images_covers_the_expected_number_of_modes(small_splits, n):
    """With the true labels as the classifier, the expected count of covered modes follows
    from the class frequencies of the pool: sum over modes of 1 - (1 - p_m)^n."""
    split = small_splits["train"]
    gen = torch.Generator().manual_seed(0)
    images, labels = stack_images(split.images, split.labels, n, 3, gen)
    assert images.shape == (n, 3, 28, 28) and images.dtype == torch.uint8
    freq = torch.bincount(split.labels, minlength=10).double() / len(split.labels)
    p_mode = torch.kron(torch.kron(freq, freq), freq)                      # (1000,)
    hit = 1 - (1 - p_mode) ** n
    expected, sd = float(hit.sum()), float((hit * (1 - hit)).sum().sqrt())
    result = mode_coverage(true_probs(labels))
    assert abs(result["modes_covered"] - expected) <= 5 * sd + 1, (result, expected, sd)
    if n == 26000:
        assert result["modes_covered"] >= 995  # nearly all 1,000, as real data should
    kl_expected = float((p_mode * (p_mode * 1000).log()).sum())  # the pool's own imbalance
    assert result["modes_kl"] == pytest.approx(kl_expected, abs=0.6 if n == 2000 else 0.06)


def skewed_confusion() -> torch.Tensor:
    """P(predicted i | true j): 0.8 right, 0.12 read as the next class, the rest spread."""
    c = torch.full((10, 10), 0.08 / 8, dtype=torch.float64)
    for j in range(10):
        c[j, j], c[(j + 1) % 10, j] = 0.8, 0.12
    return c


def test_mode_confusion_is_the_kronecker_product_in_mode_index_order():
    c = skewed_confusion()
    big = mode_confusion(c, 3)
    assert big.shape == (1000, 1000)
    assert torch.allclose(big.sum(0), torch.ones(1000, dtype=torch.float64))
    pred, true = torch.tensor([[2, 3, 4]]), torch.tensor([[2, 4, 9]])
    expected = c[2, 2] * c[3, 4] * c[4, 9]  # channels classified independently
    assert big[mode_index(pred), mode_index(true)].item() == pytest.approx(expected.item())


def test_kronecker_correction_recovers_a_skewed_mode_histogram():
    gen = torch.Generator().manual_seed(1)
    true_share = torch.zeros(1000, dtype=torch.float64)
    kept = torch.randperm(1000, generator=gen)[:150]       # 150 modes of 1000, uneven
    true_share[kept] = torch.rand(150, generator=gen, dtype=torch.float64) + 0.2
    true_share /= true_share.sum()
    c = skewed_confusion()
    predicted = mode_confusion(c, 3) @ true_share          # what the classifier would report
    assert int((predicted > 0).sum()) == 1000               # confusions spread it everywhere
    fixed = corrected_shares(predicted, mode_confusion(c, 3))
    assert torch.allclose(fixed, true_share, atol=1e-9)


def test_mode_coverage_correction_on_sampled_confusions():
    """Samples from 150 modes, each channel misread by the confusion matrix: the raw counts
    see far more modes; the corrected ones are close to the truth."""
    gen = torch.Generator().manual_seed(2)
    kept = torch.randperm(1000, generator=gen)[:150]
    n = 60000
    true_modes = kept[torch.randint(150, (n,), generator=gen)]
    true_classes = mode_classes(true_modes, 3)                              # (n, 3)
    c = skewed_confusion()
    read = torch.multinomial(c.T[true_classes.flatten()], 1, generator=gen).view(n, 3)
    result = mode_coverage(true_probs(read), min_count=1, confusion=c)
    truth_kl = kl_to_uniform(mode_histogram(true_classes, 3))
    assert result["modes_covered"] > 600                     # misreadings look like modes
    assert abs(result["modes_covered_corrected"] - 150) <= 10
    raw_error = abs(result["modes_kl"] - truth_kl)
    assert raw_error > 0.5                                   # uncorrected: far off
    assert abs(result["modes_kl_corrected"] - truth_kl) < min(0.2, raw_error / 3)
