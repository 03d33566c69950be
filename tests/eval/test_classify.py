import math

import pytest
import torch

from gan.config import ClassifierConfig
from gan.data.prepared import normalize
from gan.eval.classify import build_classifier, evaluate, train_classifier, train_step
from gan.models import build_model
from gan.tracking import NullTracker

TINY = ClassifierConfig(epochs=2, batch_size=64, channels=4, feature_dim=16)


def test_output_shapes():
    model = build_classifier(TINY).eval()
    x = torch.randn(5, 1, 28, 28)
    assert model(x).shape == (5, 10)
    assert model.features(x).shape == (5, 16)
    with torch.no_grad():
        probs = model(x).softmax(1)
    assert torch.allclose(probs.sum(1), torch.ones(5))


def test_one_training_step_is_finite_and_updates_weights(small_splits):
    torch.manual_seed(0)
    model = build_classifier(TINY)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    before = [p.detach().clone() for p in model.parameters()]
    x = normalize(small_splits["train"].images[:32])
    loss, correct = train_step(model, opt, x, small_splits["train"].labels[:32])
    assert math.isfinite(loss) and 0 <= correct <= 32
    assert all(not torch.equal(b, p) for b, p in zip(before, model.parameters(), strict=True))


def test_short_training_learns_and_logs(small_splits):
    tracker = NullTracker()
    model, selection = train_classifier(small_splits, TINY, seed=0, device=torch.device("cpu"),
                                        tracker=tracker)
    result = evaluate(model, small_splits["test"], torch.device("cpu"))
    assert result["accuracy"] > 0.5  # chance is 0.1
    assert len(result["per_class_accuracy"]) == 10
    assert [step for step, _ in tracker.metrics] == [1, 2]
    assert selection["best_epoch"] in (1, 2)


def test_unknown_model_name_lists_valid_ones():
    with pytest.raises(ValueError, match=r"unknown model 'resnet'; valid: \[.*'classifier'"):
        build_model("resnet", {})
