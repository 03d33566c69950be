"""Fixtures of the evaluation tests: a small classifier trained on the small real split, and
its features of the test images."""

import pytest
import torch

from gan.config import ClassifierConfig
from gan.eval.classify import train_classifier
from gan.eval.scoring import embed
from gan.tracking import NullTracker

CPU = torch.device("cpu")


@pytest.fixture(scope="session")
def classifier(small_splits):
    cfg = ClassifierConfig(epochs=2, batch_size=64, channels=8, feature_dim=32)
    model, _ = train_classifier(small_splits, cfg, seed=0, device=CPU, tracker=NullTracker())
    return model.eval()


@pytest.fixture(scope="session")
def test_features(classifier, small_splits):
    """(features, class probabilities) of the 1,000 test images."""
    return embed(classifier, small_splits["test"].images, CPU)
