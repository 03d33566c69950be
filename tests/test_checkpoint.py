"""Checkpoints: the models rebuilt from the file alone, on any device, with everything else
(`extra`) on the CPU; a file that is not a checkpoint is named."""

from __future__ import annotations

import pytest
import torch

from gan.checkpoint import load_checkpoint, save_checkpoint
from gan.config import ClassifierConfig
from gan.eval.classify import build_classifier
from gan.runtime import to_device
from tests.train_harness import written_state

# "meta" stands in for an accelerator: a second device that every build of torch has. Loading
# with map_location=<device> (the old code) puts `extra` there and fails these tests.
DEVICES = ["cpu", "meta",
           pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                         reason="no CUDA GPU"))]


def tensors(obj):
    """Every tensor inside nested dicts, lists and tuples."""
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from tensors(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            yield from tensors(v)


@pytest.mark.device
@pytest.mark.parametrize("device", DEVICES)
def test_checkpoint_models_on_device_extra_on_cpu(tmp_path, device):
    path, _ = written_state(tmp_path)
    models, extra = load_checkpoint(path, device)
    for model in models.values():
        assert {p.device.type for p in model.parameters()} == {device}
    found = list(tensors(extra))
    assert len(found) > 10  # frames, RNG states, optimizer state
    assert all(t.device.type == "cpu" for t in found)
    # RNG states restore (torch takes CPU ByteTensors only)
    rng = extra["rng"]
    torch.Generator().set_state(rng["batch_gen"])
    torch.Generator().set_state(rng["noise_gen"])
    torch.set_rng_state(rng["torch"])


def test_checkpoint_rebuilds_model_from_file_alone(tmp_path):
    tiny = ClassifierConfig(epochs=2, batch_size=64, channels=4, feature_dim=16)
    model = to_device(build_classifier(tiny), "cpu").eval()  # placed as loading places it
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, {"classifier": model}, extra={"note": 1})
    models, extra = load_checkpoint(path)
    restored = models["classifier"].eval()
    x = torch.randn(3, 1, 28, 28)
    assert torch.equal(restored(x), model(x))
    assert restored.arch.feature_dim == 16 and extra == {"note": 1}


def test_bad_checkpoint_file(tmp_path):
    path = tmp_path / "bad.pt"
    torch.save({"weights": 1}, path)
    with pytest.raises(ValueError, match="not a fashion-gan checkpoint"):
        load_checkpoint(path)
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "absent.pt")
