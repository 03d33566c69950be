"""Scoring generated images against the reference: conditional extras, and Stacked
Fashion-MNIST scored channel by channel."""

import pytest
import torch

from gan.config import EvalConfig
from gan.errors import BadInputError
from gan.eval.metrics import confusion_matrix
from gan.eval.scoring import Reference, embed, score
from tests.stacked import stack_images

CPU = torch.device("cpu")


def test_score_conditional_extras(classifier, small_splits, test_features):
    feats, probs = test_features
    labels = small_splits["test"].labels
    ref = Reference.from_features(feats, labels, confusion_matrix(probs, labels))
    result = score(feats, probs, ref, EvalConfig(), labels=labels, with_prdc=False)
    assert result["fid"] == pytest.approx(0.0, abs=1e-6)
    assert abs(result["kid"]) < 1e-2 and result["vendi"] > 1  # the test set against itself
    assert 0.5 < result["label_accuracy"] <= 1.0
    assert len(result["class_fid"]) == 10
    assert result["intra_fid"] == pytest.approx(0.0, abs=1e-3)  # ~100 samples per class


def test_stacked_images_are_scored_channel_by_channel(classifier, small_splits, test_features):
    feats, probs = test_features
    test = small_splits["test"]
    ref = Reference.from_features(feats, test.labels, confusion_matrix(probs, test.labels))
    stacked_ref = ref.stacked(3)
    assert stacked_ref.features.shape == (1000, 96) and stacked_ref.labels.shape == (1000, 3)
    assert stacked_ref.class_mu == [] and ref.stacked(1) is ref
    images, labels = stack_images(test.images, test.labels, 1000, 3,
                                  torch.Generator().manual_seed(5))
    s_feats, s_probs = embed(classifier, images, CPU)
    assert s_feats.shape == (1000, 96) and s_probs.shape == (1000, 3, 10)
    one_feats, one_probs = embed(classifier, images[:, 1], CPU)  # channel 1 alone
    assert torch.allclose(s_feats[:, 32:64], one_feats, atol=1e-5)
    assert torch.allclose(s_probs[:, 1], one_probs, atol=1e-6)
    result = score(s_feats, s_probs, stacked_ref, EvalConfig(mode_n_samples=1000), labels,
                   with_prdc=False)
    accuracy = float((probs.argmax(1) == test.labels).float().mean())
    assert result["label_accuracy"] == pytest.approx(accuracy, abs=0.05)
    assert result["mode_accuracy"] < result["label_accuracy"]
    assert result["n_modes"] == 1000 and 400 < result["modes_covered"] <= 1000
    trousers = images[labels[:, 0] == 1][:, [0, 0, 0]]  # one class in every channel
    t_feats, t_probs = embed(classifier, trousers, CPU)
    collapsed = score(t_feats, t_probs, stacked_ref, EvalConfig(), with_prdc=False)
    assert result["fid"] < collapsed["fid"] / 10
    assert result["kid"] < collapsed["kid"] / 10 and collapsed["kid_std"] > 0
    assert collapsed["vendi"] < result["vendi"] / 2  # one class per channel: less diverse
    assert collapsed["modes_covered"] < 10 and collapsed["modes_kl"] > 5
    assert "intra_fid" not in result and len(result["class_share_ch2"]) == 10
    with pytest.raises(BadInputError, match="features of 32 dimensions .* reference of 96"):
        score(feats, probs, stacked_ref, EvalConfig())
