"""One run's training config from params.yaml: per-variant overrides and scaled rates."""

import pytest

from gan.config import GanConfig, Params, VariantConfig
from gan.run_config import train_config
from gan.train.state import init_state
from tests.train_harness import CPU


@pytest.mark.parametrize(("rule", "factor"), [("none", 1.0), ("sqrt", 2.0), ("linear", 4.0)])
def test_lr_scaling_rule_for_a_larger_batch(rule, factor):
    params = Params(batch_size=512, gan=GanConfig(lr_scaling=rule, base_batch_size=128))
    cfg = train_config(params, "dcgan", seed=0)
    assert cfg.lr_d == pytest.approx(params.lr_d * factor)
    st = init_state(cfg, CPU)
    assert st.opt_d.param_groups[0]["lr"] == pytest.approx(params.lr_d * factor)
    assert st.opt_g.param_groups[0]["lr"] == pytest.approx(params.lr_g * factor)


def test_a_variant_schedule_replaces_the_top_level_one():
    variants = {"cgan": VariantConfig(arch="dcgan", conditional=True, lr_d=1e-3,
                                      lr_d_milestones={100: 1e-4}),
                "dcgan": VariantConfig(arch="dcgan")}
    params = Params(variants=variants, lr_d_milestones={50: 5e-5})
    assert train_config(params, "cgan", seed=3).lr_d_milestones == ((100, 1e-4),)
    assert train_config(params, "dcgan", seed=3).lr_d_milestones == ((50, 5e-5),)
    assert train_config(params, "cgan", seed=3).seed == 3
