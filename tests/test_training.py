import math

import pytest
import torch

from gan.config import ConfigError, DataConfig, GanConfig, Params, VariantConfig
from gan.data import normalize
from gan.train_files import fingerprint, load_state, save_state
from gan.train_state import init_state, train_config
from gan.training import (
    NonFiniteLossError,
    StepConfig,
    d_step,
    ema_update,
    g_step,
    step_nets,
    train,
    train_epoch,
)

CPU = torch.device("cpu")


def tiny_params(**gan) -> Params:
    variants = {name: v.model_copy(update={"width": 8}) for name, v in Params().variants.items()}
    return Params(epochs=3, batch_size=64, variants=variants, gan=GanConfig(**gan))


@pytest.fixture(scope="module")
def tiny_data(small_splits):
    return normalize(small_splits["train"].images[:256]), small_splits["train"].labels[:256]


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


def test_unknown_d_update_mode_lists_valid_ones():
    with pytest.raises(ValueError, match=r"unknown d_update mode 'both'; valid: \['joint', "):
        StepConfig(d_update="both")


def test_ema_moves_toward_model():
    ema, model = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    target = model.weight.detach().clone()
    start = ema.weight.detach().clone()
    ema_update(ema, model, decay=0.75)
    assert torch.allclose(ema.weight, 0.75 * start + 0.25 * target)


def run(variant, data, device=CPU, **gan):
    cfg = train_config(tiny_params(**gan), variant, seed=0)
    st = init_state(cfg, device)
    return train(st, cfg, *(t.to(device) for t in data), lambda s, r: None), cfg


DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA GPU"))]


@pytest.mark.parametrize("variant", ["dcgan_bn", "cgan"])
def test_same_seed_same_weights(variant, tiny_data):
    a, _ = run(variant, tiny_data)
    b, _ = run(variant, tiny_data)
    for module in ("G", "D"):
        sa, sb = getattr(a, module).state_dict(), getattr(b, module).state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.device
@pytest.mark.parametrize("device", DEVICES)
def test_resume_matches_uninterrupted_run(tmp_path, tiny_data, device):
    device = torch.device(device)
    tiny_data = tuple(t.to(device) for t in tiny_data)
    full, cfg = run("cgan", tiny_data, device, ema_decay=0.9)
    st = init_state(cfg, device)
    path = tmp_path / "last.pt"

    class Interrupt(Exception):
        pass

    def save_then_stop(s, row):
        s.history.append(row)
        s.frames.append(torch.zeros(100, 28, 28, dtype=torch.uint8))
        save_state(path, s, cfg, "data")
        if s.epoch == 1:
            raise Interrupt

    with pytest.raises(Interrupt):
        train(st, cfg, *tiny_data, save_then_stop)
    del st
    resumed = load_state(path, cfg, device, "data")
    assert resumed is not None and resumed.epoch == 1
    train(resumed, cfg, *tiny_data, lambda s, r: None)
    for module in ("G", "D", "ema"):
        sa, sb = getattr(full, module).state_dict(), getattr(resumed, module).state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa), module


def test_only_an_unfinished_run_of_the_same_config_data_and_code_resumes(tmp_path, tiny_data):
    cfg = train_config(tiny_params(), "gan", seed=0)
    st = init_state(cfg, CPU)
    st.frames.append(torch.zeros(100, 28, 28, dtype=torch.uint8))
    key = fingerprint(tiny_data[0])
    save_state(tmp_path / "last.pt", st, cfg, key)
    other = train_config(tiny_params(label_smoothing=0.1), "gan", seed=0)
    assert load_state(tmp_path / "last.pt", other, CPU, key) is None
    assert load_state(tmp_path / "last.pt", cfg, CPU, fingerprint(tiny_data[0][:100])) is None
    assert load_state(tmp_path / "last.pt", cfg, CPU, key) is not None
    st.epoch = cfg.epochs  # finished: a re-run (changed code, forced) trains afresh
    save_state(tmp_path / "last.pt", st, cfg, key)
    assert load_state(tmp_path / "last.pt", cfg, CPU, key) is None


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


@pytest.mark.parametrize(("rule", "factor"), [("none", 1.0), ("sqrt", 2.0), ("linear", 4.0)])
def test_lr_scaling_rule_for_a_larger_batch(rule, factor):
    params = Params(batch_size=512, gan=GanConfig(lr_scaling=rule, base_batch_size=128))
    cfg = train_config(params, "dcgan", seed=0)
    assert cfg.lr_d == pytest.approx(params.lr_d * factor)
    st = init_state(cfg, CPU)
    assert st.opt_d.param_groups[0]["lr"] == pytest.approx(params.lr_d * factor)
    assert st.opt_g.param_groups[0]["lr"] == pytest.approx(params.lr_g * factor)


def test_batch_larger_than_the_training_set_fails_before_the_first_epoch(tiny_data):
    cfg = train_config(Params(batch_size=512, variants=tiny_params().variants), "gan", seed=0)
    st = init_state(cfg, CPU)
    epochs = []
    with pytest.raises(ConfigError, match=r"'batch_size' 512 exceeds the 256 training images"):
        train(st, cfg, *tiny_data, lambda s, r: epochs.append(s.epoch))
    assert st.epoch == 0 and not epochs


def test_lr_d_milestone_changes_the_rate_in_the_optimizer(tmp_path, tiny_data):
    params = Params(epochs=4, batch_size=64, variants=tiny_params().variants,
                    lr_d_milestones={2: 1e-5, 3: 5e-6})
    cfg = train_config(params, "gan", seed=0)
    st = init_state(cfg, CPU)
    seen = []
    train(st, cfg, *tiny_data, lambda s, r: seen.append(s.opt_d.param_groups[0]["lr"]))
    assert seen == [2e-4, 2e-4, 1e-5, 5e-6]  # epochs 1-2 at lr_d, 3 at 1e-5, 4 at 5e-6
    assert st.opt_g.param_groups[0]["lr"] == 2e-4  # G is not scheduled
    st.frames.append(torch.zeros(100, 28, 28, dtype=torch.uint8))
    st.epoch = 2  # an unfinished run: the stored config (schedule included) must match
    save_state(tmp_path / "last.pt", st, cfg, "k")
    assert load_state(tmp_path / "last.pt", cfg, CPU, "k") is not None


def test_a_variant_schedule_replaces_the_top_level_one():
    variants = {"cgan": VariantConfig(arch="dcgan", conditional=True, lr_d=1e-3,
                                      lr_d_milestones={100: 1e-4}),
                "dcgan": VariantConfig(arch="dcgan")}
    params = Params(variants=variants, lr_d_milestones={50: 5e-5})
    assert train_config(params, "cgan", seed=3).lr_d_milestones == ((100, 1e-4),)
    assert train_config(params, "dcgan", seed=3).lr_d_milestones == ((50, 5e-5),)
    assert train_config(params, "cgan", seed=3).seed == 3


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
