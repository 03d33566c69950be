import math

import pytest
import torch

from gan.checkpoint import load_checkpoint, save_checkpoint
from gan.classify import build_classifier, evaluate, train_classifier, train_step
from gan.config import ClassifierConfig
from gan.data import normalize
from gan.models import build_model
from gan.runtime import to_device
from gan.tracking import NullTracker

TINY = ClassifierConfig(epochs=2, batch_size=64, channels=4, feature_dim=16)


def test_output_shapes():
    model = build_classifier(TINY).eval()
    x = torch.randn(5, 1, 28, 28)
    assert model(x).shape == (5, 10)
    assert model.features(x).shape == (5, 16)
    probs = model.predict_proba(x)
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


def test_checkpoint_rebuilds_model_from_file_alone(tmp_path):
    model = to_device(build_classifier(TINY), "cpu").eval()  # placed as loading places it
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, {"classifier": model}, extra={"note": 1})
    models, extra = load_checkpoint(path)
    restored = models["classifier"].eval()
    x = torch.randn(3, 1, 28, 28)
    assert torch.equal(restored(x), model(x))
    assert restored.arch.feature_dim == 16 and extra == {"note": 1}


def test_unknown_model_name_lists_valid_ones():
    with pytest.raises(ValueError, match=r"unknown model 'resnet'; valid names: \['classifier'"):
        build_model("resnet", {})


def test_bad_checkpoint_file(tmp_path):
    path = tmp_path / "bad.pt"
    torch.save({"weights": 1}, path)
    with pytest.raises(ValueError, match="not a fashion-gan checkpoint"):
        load_checkpoint(path)
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "absent.pt")
