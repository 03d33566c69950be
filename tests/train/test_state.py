"""The resumable training state: a stopped run resumes to exactly the weights of an
uninterrupted one, on every device; only a matching, unfinished run resumes; a corrupt
checkpoint is set aside."""

import logging
import math

import pytest
import torch

from gan.remedies import study
from gan.run_config import train_config
from gan.train.loop import train
from gan.train.state import fingerprint, init_state, load_state, save_state
from tests.conftest import truncate
from tests.train_harness import (
    CPU,
    blank_frame,
    differing,
    few_images,
    remedy_params,
    resume,
    tiny_params,
    train_until_stopped,
    trained,
    written_state,
)

CUDA = pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                    reason="no CUDA GPU"))


@pytest.mark.device
@pytest.mark.parametrize("device", ["cpu", CUDA])
def test_resume_matches_uninterrupted_run(tmp_path, tiny_data, device):
    device = torch.device(device)
    x, y = (t.to(device) for t in tiny_data)
    full, cfg = trained("cgan", (x, y), device, ema_decay=0.9)
    path = tmp_path / "last.pt"
    train_until_stopped(cfg, x, y, path, device, stop_after=1)
    after, resumed = resume(path, cfg, x, y, device)
    assert after == 1
    assert differing(full, resumed, ("G", "D", "ema")) == []
    # batches trained: 3 epochs of 256 images in batches of 64, counted across the resume
    assert full.step == resumed.step == 3 * (256 // 64)


@pytest.mark.parametrize("name", sorted(study()))
def test_each_remedy_trains_to_finite_losses_and_resumes_exactly(name, tmp_path, small_splits):
    x, y = few_images(small_splits, 32)
    cfg = train_config(remedy_params(), name, seed=0)  # 2 steps of 16 per epoch, 2 epochs
    full, rows = init_state(cfg, CPU), []
    train(full, cfg, x, y, lambda s, row: rows.append(row))
    assert len(rows) == 2 and all(math.isfinite(v) for row in rows for v in row.values())
    path = tmp_path / "last.pt"
    train_until_stopped(cfg, x, y, path, stop_after=1)
    saved = torch.load(path, weights_only=True)["extra"]["config"]
    assert {k: saved[k] for k in ("loss", "penalty", "n_critic")} == \
        {"loss": cfg.loss, "penalty": cfg.penalty, "n_critic": cfg.n_critic}
    assert saved["model"]["d_norm"] == cfg.model.d_norm and saved["model"]["pack"] == cfg.model.pack
    _, resumed = resume(path, cfg, x, y)
    assert differing(full, resumed) == []


def test_only_an_unfinished_run_of_the_same_config_data_and_code_resumes(tmp_path, tiny_data):
    cfg = train_config(tiny_params(), "gan", seed=0)
    st = init_state(cfg, CPU)
    blank_frame(st)
    key = fingerprint(tiny_data[0])
    save_state(tmp_path / "last.pt", st, cfg, key)
    other = train_config(tiny_params(label_smoothing=0.1), "gan", seed=0)
    assert load_state(tmp_path / "last.pt", other, CPU, key) is None
    assert load_state(tmp_path / "last.pt", cfg, CPU, fingerprint(tiny_data[0][:100])) is None
    assert load_state(tmp_path / "last.pt", cfg, CPU, key) is not None
    st.epoch = cfg.epochs  # finished: a re-run (changed code, forced) trains afresh
    save_state(tmp_path / "last.pt", st, cfg, key)
    assert load_state(tmp_path / "last.pt", cfg, CPU, key) is None


@pytest.mark.device
@pytest.mark.parametrize("device", ["cpu", CUDA])
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


def test_corrupt_resume_checkpoint_is_set_aside_and_training_starts_afresh(tmp_path, caplog):
    path, cfg = written_state(tmp_path)
    truncate(path)
    with caplog.at_level(logging.WARNING):
        assert load_state(path, cfg, torch.device("cpu"), "key") is None
    assert not path.exists() and (tmp_path / "last.pt.corrupt").is_file()
    assert "truncated or corrupt" in caplog.text and "starting afresh" in caplog.text
