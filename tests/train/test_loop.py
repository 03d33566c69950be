import math

import pytest
import torch

from gan.config import ConfigError, DataConfig, Params
from gan.run_config import train_config
from gan.train.loop import (
    NonFiniteLossError,
    StepConfig,
    check_batch_size,
    d_step,
    ema_update,
    g_step,
    step_nets,
    train,
    train_epoch,
)
from gan.train.state import init_state, load_state, save_state
from tests.train_harness import CPU, blank_frame, differing, tiny_params, trained


def snapshot(module):
    """Weights only: batch-norm running statistics are buffers, updated by any forward pass."""
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def changed(before, module):
    return {k for k, v in module.named_parameters() if not torch.equal(before[k], v)}


@pytest.mark.parametrize("variant", ["gan", "dcgan", "dcgan_bn", "cgan", "cgan_proj"])
@pytest.mark.parametrize("mode", ["split", "joint"])
def test_d_step_updates_only_d_and_g_step_only_g(variant, mode, tiny_data):
    cfg = train_config(tiny_params(), variant, seed=0)
    st = init_state(cfg, CPU)
    x, y = tiny_data[0][:16], tiny_data[1][:16]
    labels = y if cfg.model.conditional else None
    g0, d0 = snapshot(st.G), snapshot(st.D)
    step = StepConfig(d_update=mode)
    out = d_step(st.G, st.D, st.opt_d, x, torch.randn(16, 100), step, labels, labels)
    assert set(out) == {"d_loss_real", "d_loss_fake", "d_real", "d_fake", "d_penalty"}
    assert all(math.isfinite(v.item()) for v in out.values())
    assert not changed(g0, st.G)
    assert changed(d0, st.D) == set(d0)
    d1 = snapshot(st.D)
    out = g_step(st.G, st.D, st.opt_g, torch.randn(16, 100), step, labels)
    assert math.isfinite(out["g_loss"].item())
    assert not changed(d1, st.D)  # D frozen during the G step
    assert changed(g0, st.G) == set(g0)
    assert all(p.requires_grad for p in st.D.parameters())  # unfrozen afterwards


def test_ema_moves_toward_model():
    ema, model = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    target = model.weight.detach().clone()
    start = ema.weight.detach().clone()
    ema_update(ema, model, decay=0.75)
    assert torch.allclose(ema.weight, 0.75 * start + 0.25 * target)


@pytest.mark.parametrize("variant", ["dcgan_bn", "cgan"])
def test_same_seed_same_weights(variant, tiny_data):
    a, _ = trained(variant, tiny_data)
    b, _ = trained(variant, tiny_data)
    assert differing(a, b) == []


def test_nan_loss_stops_with_epoch_and_step(tiny_data):
    cfg = train_config(tiny_params(), "gan", seed=0)
    st = init_state(cfg, CPU)
    x = tiny_data[0].clone()
    x[70] = float("nan")  # lands in some batch of the first epoch
    with pytest.raises(NonFiniteLossError, match=r"non-finite loss at epoch 1, step \d+"):
        train(st, cfg, x, tiny_data[1], lambda s, r: None)
    assert st.epoch == 0


@pytest.mark.parametrize("variant", ["dcgan_bn", "cgan"])
def test_compiled_step_matches_eager(variant, tiny_data):
    """G and D under torch.compile give the eager losses within 1e-4 over a few steps."""
    rows = {}
    for mode in ("off", "on"):
        cfg = train_config(tiny_params(compile=mode), variant, seed=0)
        st = init_state(cfg, CPU)
        nets = step_nets(st, cfg, CPU)
        assert (nets[0] is st.G) == (mode == "off")
        rows[mode] = [train_epoch(st, cfg, *tiny_data, nets) for _ in range(2)]  # 8 steps
    for eager, compiled in zip(rows["off"], rows["on"], strict=True):
        assert compiled == pytest.approx(eager, rel=1e-4, abs=1e-4)


def test_batch_larger_than_the_training_set_is_refused(tiny_data):
    """The train stage calls this before any work (tests/stages/test_train.py runs it)."""
    cfg = train_config(Params(batch_size=512, variants=tiny_params().variants), "gan", seed=0)
    with pytest.raises(ConfigError, match=r"'batch_size' 512 exceeds the 256 training images"):
        check_batch_size(cfg, len(tiny_data[0]))
    check_batch_size(cfg, 512)  # one full batch fits: no error


def test_lr_d_milestone_changes_the_rate_in_the_optimizer(tmp_path, tiny_data):
    params = Params(epochs=4, batch_size=64, variants=tiny_params().variants,
                    lr_d_milestones={2: 1e-5, 3: 5e-6})
    cfg = train_config(params, "gan", seed=0)
    st = init_state(cfg, CPU)
    seen = []
    train(st, cfg, *tiny_data, lambda s, r: seen.append(s.opt_d.param_groups[0]["lr"]))
    assert seen == [2e-4, 2e-4, 1e-5, 5e-6]  # epochs 1-2 at lr_d, 3 at 1e-5, 4 at 5e-6
    assert st.opt_g.param_groups[0]["lr"] == 2e-4  # G is not scheduled
    blank_frame(st)
    st.epoch = 2  # an unfinished run: the stored config (schedule included) must match
    save_state(tmp_path / "last.pt", st, cfg, "k")
    assert load_state(tmp_path / "last.pt", cfg, CPU, "k") is not None


@pytest.mark.parametrize("variant", ["gan", "dcgan", "dcgan_bn", "cgan", "cgan_proj"])
def test_a_stacked_epoch_trains_every_variant(variant, tiny_data):
    """data.stack = 3: reals are three training images stacked as channels, and the same
    seed still gives the same weights."""
    p = tiny_params().model_copy(update={"data": DataConfig(stack=3)})
    cfg = train_config(p, variant, seed=0)
    runs = []
    for _ in range(2):
        st = init_state(cfg, CPU)
        row = train_epoch(st, cfg, *tiny_data)
        assert all(math.isfinite(v) for v in row.values())
        runs.append(st.G.state_dict())
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])
