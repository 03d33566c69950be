import os

import pytest

from gan.config import ConfigError
from gan.stages.queue import default_jobs, grid_points


def test_grid_is_every_combination_in_order():
    assert grid_points(["lr_d=1e-4,2e-4", "seed=0,1"]) == [
        ["lr_d=1e-4", "seed=0"], ["lr_d=1e-4", "seed=1"],
        ["lr_d=2e-4", "seed=0"], ["lr_d=2e-4", "seed=1"]]
    assert grid_points(["variants.dcgan.width=32"]) == [["variants.dcgan.width=32"]]


@pytest.mark.parametrize("bad", ["lr_d", "=1e-4", "lr_d=", "lr_d=1e-4,,2e-4"])
def test_a_malformed_grid_item_is_named_with_the_expected_form(bad):
    with pytest.raises(ConfigError, match=r"expected KEY=VALUE\[,VALUE\.\.\.\]"):
        grid_points([bad])


def test_cpu_workers_are_cores_over_threads_per_job(monkeypatch):
    import torch

    if torch.cuda.is_available():
        pytest.skip("one worker per GPU here")
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert default_jobs(1) == 8
    assert default_jobs(3) == 2  # whole workers only: 8 // 3
    assert default_jobs(8) == 1
    assert default_jobs(16) == 1  # more threads per job than cores: still one worker
    monkeypatch.setattr(os, "cpu_count", lambda: None)  # unknown: one worker
    assert default_jobs(1) == 1
