"""The one loading path: files read on the CPU whatever the device, and a clear one-line error
(exit 2, nothing written) for a truncated or foreign file."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gan.checkpoint import load_checkpoint
from gan.data import save_prepared
from gan.errors import BadInputError, MissingInputError
from gan.torch_files import load_file
from gan.train_files import load_state, save_state
from gan.train_state import init_state, train_config
from gan.training import train_epoch
from tests.conftest import REPO
from tests.test_training import tiny_params

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


def written_state(tmp_path: Path, variant: str = "cgan", **gan) -> tuple[Path, object]:
    cfg = train_config(tiny_params(ema_decay=0.9, **gan), variant, seed=0)
    state = init_state(cfg, torch.device("cpu"))
    x = torch.rand(128, 1, 28, 28) * 2 - 1
    train_epoch(state, cfg, x, torch.randint(10, (128,)))  # optimizer state to save
    state.frames.append(torch.zeros(100, 28, 28, dtype=torch.uint8))
    state.frame_epochs.append(0)
    path = tmp_path / "last.pt"
    save_state(path, state, cfg, "key")
    return path, cfg


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


@pytest.mark.device
@pytest.mark.parametrize("device", ["cpu", DEVICES[2]])
def test_resumed_state_restores_rng_and_optimizer_on_device(tmp_path, device):
    path, cfg = written_state(tmp_path)
    saved = torch.load(path, weights_only=True)["extra"]
    state = load_state(path, cfg, torch.device(device), "key")
    assert state is not None
    assert torch.equal(state.batch_gen.get_state(), saved["rng"]["batch_gen"])
    assert torch.equal(state.noise_gen.get_state(), saved["rng"]["noise_gen"])
    assert state.frames[0].device.type == "cpu"
    for group in state.opt_d.state.values():
        assert group["exp_avg"].device.type == device


def truncate(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def test_truncated_and_foreign_files_name_file_problem_and_fix(tmp_path):
    path = tmp_path / "a.pt"
    torch.save({"x": torch.zeros(1000)}, path)
    truncate(path)
    with pytest.raises(BadInputError, match=r"a\.pt: prepared data is truncated or corrupt "
                                            r"\(.*\); rerun `dvc repro prepare`"):
        load_file(path, "prepared data", "rerun `dvc repro prepare`")
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(BadInputError, match="empty.pt: checkpoint is an empty file; fix it"):
        load_file(tmp_path / "empty.pt", "checkpoint", "fix it")
    (tmp_path / "text.pt").write_text("not a torch file\n" * 20)
    with pytest.raises(BadInputError, match="text.pt: checkpoint is truncated or corrupt"):
        load_file(tmp_path / "text.pt", "checkpoint", "fix it")
    with pytest.raises(MissingInputError, match="absent.pt: checkpoint not found; fix it"):
        load_file(tmp_path / "absent.pt", "checkpoint", "fix it")


def test_corrupt_resume_checkpoint_is_set_aside_and_training_starts_afresh(tmp_path, caplog):
    path, cfg = written_state(tmp_path)
    truncate(path)
    with caplog.at_level(logging.WARNING):
        assert load_state(path, cfg, torch.device("cpu"), "key") is None
    assert not path.exists() and (tmp_path / "last.pt.corrupt").is_file()
    assert "truncated or corrupt" in caplog.text and "starting afresh" in caplog.text


def gan_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gan.cli", *args], cwd=REPO,
                          capture_output=True, text=True)


def assert_one_line_error(proc: subprocess.CompletedProcess, *parts: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1, proc.stderr
    for part in parts:
        assert part in errors[0]


def test_cli_truncated_prepared_data(tmp_path, small_splits):
    data = tmp_path / "prepared.pt"
    save_prepared(small_splits, data)
    truncate(data)
    out = tmp_path / "out"
    proc = gan_cli("train-classifier", "--data", str(data), "--model-out", str(out / "c.pt"),
                   "--metrics-out", str(out / "c.json"), "--no-track")
    assert_one_line_error(proc, str(data), "truncated or corrupt", "dvc repro prepare")
    assert not out.exists()


def test_cli_truncated_model_checkpoint(tmp_path):
    path, _ = written_state(tmp_path, "dcgan")
    truncate(path)
    out = tmp_path / "samples"
    proc = gan_cli("sample", "dcgan", "--seed", "2", "--model", str(path), "--out-dir", str(out),
                   "--no-track")
    assert_one_line_error(proc, str(path), "truncated or corrupt", "dvc repro train@dcgan-2")
    assert not out.exists()


def test_cli_truncated_images_for_score(tmp_path):
    path = tmp_path / "images.pt"
    torch.save(torch.zeros(500, 28, 28, dtype=torch.uint8), path)
    truncate(path)
    proc = gan_cli("score", str(path))
    assert_one_line_error(proc, str(path), "truncated or corrupt", "torch.save")
    assert proc.stdout == ""
