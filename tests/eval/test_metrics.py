import math

import numpy as np
import pytest
import torch

from gan.config import ClassifierConfig
from gan.eval.classify import train_classifier
from gan.eval.metrics import (
    MetricError,
    class_coverage,
    confusion_matrix,
    corrected_shares,
    feature_stats,
    fid,
    frechet_distance,
    kid,
    poly_mmd2,
    prdc,
    vendi_score,
)
from gan.eval.scoring import embed
from gan.tracking import NullTracker

CPU = torch.device("cpu")


def test_fid_of_a_set_with_itself_is_zero(test_features):
    assert abs(fid(test_features[0], test_features[0])) < 1e-6


def test_fid_train_subset_small_and_missing_classes_large(classifier, small_splits,
                                                          test_features):
    train = small_splits["train"]
    train_feats, _ = embed(classifier, train.images[:1000], CPU)
    some = train.labels < 5  # only the first five classes
    some_feats, _ = embed(classifier, train.images[some][:500], CPU)
    same_distribution = fid(train_feats, test_features[0])
    missing_classes = fid(some_feats, test_features[0])
    assert missing_classes > 5 * same_distribution


def test_fid_matches_independent_eigenvalue_computation():
    rng = np.random.default_rng(0)
    d = 16
    a, b = rng.normal(size=(d, 2 * d)), rng.normal(size=(d, 2 * d))
    s1, s2 = a @ a.T / d, b @ b.T / d
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    # Tr((S1 S2)^(1/2)) = sum of square roots of the (real, non-negative) eigenvalues of S1 S2.
    eig = np.linalg.eigvals(s1 @ s2).real.clip(min=0)
    expected = ((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(eig).sum()
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-6)


def test_singular_covariances_get_an_offset_and_a_log(caplog):
    d = 4
    sigma = np.zeros((d, d))
    value = frechet_distance(np.zeros(d), sigma, np.ones(d), sigma)
    assert value == pytest.approx(d, abs=1e-3)
    assert "adding 1e-06 to the diagonal" in caplog.text


def test_too_few_samples_for_full_rank_covariance():
    with pytest.raises(MetricError, match="10 samples cannot give a full-rank covariance of 32"):
        feature_stats(torch.randn(10, 32))


def test_one_class_gives_coverage_one_and_kl_ln10():
    probs = torch.zeros(100, 10)
    probs[:, 5] = 1.0
    result = class_coverage(probs)
    assert result["classes_covered"] == 1
    assert result["kl_to_uniform"] == pytest.approx(math.log(10))  # every sample in one class
    assert result["class_share"]["sandal"] == 1.0 and result["mean_confidence"] == 1.0


def test_balanced_classes_give_zero_kl_and_threshold_applies():
    probs = torch.eye(10).repeat(10, 1)  # 10 samples of each class
    assert class_coverage(probs)["kl_to_uniform"] == pytest.approx(0.0, abs=1e-12)
    probs[10::10] = torch.eye(10)[1]  # class 0 down to 1 sample of 100: share 0.01 < 0.02
    assert class_coverage(probs, min_share=0.02)["classes_covered"] == 9


def test_prdc_on_two_draws_of_one_distribution():
    gen = torch.Generator().manual_seed(0)
    real, fake = torch.randn(2000, 8, generator=gen), torch.randn(2000, 8, generator=gen)
    m = prdc(real, fake)
    # Same distribution: precision and recall high and alike (about 0.9 at k=3 in 8-D),
    # density about 1, coverage about 1 - 2^-k (Naeem et al., 2020).
    assert m["precision"] > 0.85 and m["recall"] > 0.85
    assert m["precision"] == pytest.approx(m["recall"], abs=0.05)
    assert m["density"] == pytest.approx(1.0, abs=0.1)
    assert m["coverage"] == pytest.approx(1 - 0.5 ** 5, abs=0.03)


def test_prdc_sees_a_collapsed_generator():
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(1000, 8, generator=gen)
    fake = 0.05 * torch.randn(1000, 8, generator=gen)  # all mass near the mode
    m = prdc(real, fake)
    assert m["precision"] > 0.9 and m["recall"] < 0.2 and m["coverage"] < 0.2


def kl_uniform(share: torch.Tensor) -> float:
    share = share[share > 0]
    return float((share * (share * 10).log()).sum())


@pytest.fixture(scope="module")
def better_classifier(small_splits):
    """Trained long enough to predict every class (the 2-epoch one never says "shirt", which
    leaves the confusion matrix singular and the correction undetermined)."""
    cfg = ClassifierConfig(epochs=4, batch_size=64, channels=16, feature_dim=32)
    model, _ = train_classifier(small_splits, cfg, seed=0, device=CPU, tracker=NullTracker())
    return model.eval()


@pytest.mark.parametrize("keep", [
    {6: 90, 0: 60, 2: 45, 4: 30, 3: 15, 8: 10},   # shirt, t-shirt, pullover, coat, dress, bag
    {0: 90, 2: 60, 4: 40, 3: 25, 1: 10, 8: 5},
    {0: 80, 6: 80, 2: 20, 4: 20},
])
def test_confusion_correction_recovers_a_skewed_class_histogram(better_classifier,
                                                                small_splits, keep):
    """Real test images with a known, skewed class histogram: the shares corrected with the
    confusion matrix measured on the validation split give a KL to uniform closer to the
    truth than the raw predictions, which the classifier's confusions pull toward uniform."""
    classifier = better_classifier
    _, val_probs = embed(classifier, small_splits["val"].images, CPU)
    confusion = confusion_matrix(val_probs, small_splits["val"].labels)
    assert torch.allclose(confusion.sum(0), torch.ones(10, dtype=torch.float64))
    test = small_splits["test"]
    idx = torch.cat([torch.nonzero(test.labels == k).flatten()[:n] for k, n in keep.items()])
    true_share = torch.bincount(test.labels[idx], minlength=10).double() / len(idx)
    _, probs = embed(classifier, test.images[idx], CPU)
    raw = torch.bincount(probs.argmax(1), minlength=10).double() / len(idx)
    fixed = corrected_shares(raw, confusion)
    assert fixed.sum() == pytest.approx(1.0) and (fixed >= 0).all()
    truth = kl_uniform(true_share)
    assert abs(kl_uniform(fixed) - truth) < abs(kl_uniform(raw) - truth)
    result = class_coverage(probs, 0.02, confusion=confusion)
    assert result["kl_to_uniform_corrected"] == pytest.approx(kl_uniform(fixed))
    assert result["kl_to_uniform"] == pytest.approx(kl_uniform(raw))


def test_unsure_share_counts_samples_below_the_confidence_threshold():
    probs = torch.full((4, 10), 0.05)
    probs[0, 0], probs[1, 1] = 0.55, 0.55   # confident enough at 0.5
    probs[2, 2], probs[3, 3] = 0.3, 0.45    # unsure
    assert class_coverage(probs, confidence_threshold=0.5)["unsure_share"] == 0.5
    assert class_coverage(probs, confidence_threshold=0.25)["unsure_share"] == 0.0


def _features(n: int, d: int = 16, shift: float = 0.0, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed)).double() + shift


def test_kid_equals_torchmetrics_on_the_same_subsets():
    from torchmetrics.image.kid import KernelInceptionDistance, poly_mmd

    real, fake = _features(300), _features(250, shift=0.3, seed=1)
    assert poly_mmd2(real[:200], fake[:200]) == pytest.approx(
        float(poly_mmd(real[:200], fake[:200])), rel=1e-12)
    # One subset of every sample: the subsets' order does not matter, so both draw the same.
    reference = KernelInceptionDistance(feature=torch.nn.Identity(), subsets=1,
                                        subset_size=250)
    reference.update(real[:250].float(), real=True)
    reference.update(fake.float(), real=False)
    mean, std = kid(real[:250], fake, subsets=1, subset_size=250)
    assert mean == pytest.approx(float(reference.compute()[0]), rel=1e-5) and std == 0.0


def test_kid_is_near_zero_for_one_distribution_and_grows_with_the_shift():
    base = _features(2000)
    same, _ = kid(base[:1000], _features(1000, seed=2), subsets=20, subset_size=500)
    near, _ = kid(base, _features(1000, shift=0.2, seed=3), subsets=20, subset_size=500)
    far, spread = kid(base, _features(1000, shift=1.0, seed=4), subsets=20, subset_size=500)
    assert abs(same) < 0.01 < near < far and spread > 0


def test_vendi_score_equals_the_reference_package_and_known_answers():
    from vendi_score import vendi

    x = _features(300)
    assert vendi_score(x) == pytest.approx(vendi.score_dual(x.numpy()), rel=1e-9)
    assert vendi_score(x[:1].repeat(50, 1)) == pytest.approx(1.0)  # copies of one sample
    assert vendi_score(torch.eye(16)) == pytest.approx(16.0)  # 16 orthogonal samples
