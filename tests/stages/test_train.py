"""The train stage as a user runs it, on every device present: train, kill -9, resume, sample.
The resumed run must end with exactly the weights of an uninterrupted one (`make gpu-check`
runs these on CUDA)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from PIL import Image

from tests.conftest import REPO
from tests.train_runs import EPOCHS, kill_after_epoch, train_cmd, write_params

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA GPU"))]


def generator(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["models"]["generator"]["state_dict"]


@pytest.mark.device
@pytest.mark.parametrize("device", DEVICES)
def test_train_kill_resume_sample_on_device(tmp_path, prepared, device):
    params = write_params(tmp_path, device)
    killed, fresh = tmp_path / "killed", tmp_path / "fresh"
    reached = kill_after_epoch(train_cmd(prepared, killed, params), killed / "state/last.pt", 2)
    assert 2 <= reached < EPOCHS, "training finished before it could be killed"
    resumed = subprocess.run(train_cmd(prepared, killed, params), cwd=REPO, capture_output=True,
                             text=True, env=os.environ | {"GAN_LOG_LEVEL": "INFO"})
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming after epoch {reached} of {EPOCHS}" in resumed.stderr
    subprocess.run(train_cmd(prepared, fresh, params), cwd=REPO, check=True)
    a, b = generator(killed / "dcgan.pt"), generator(fresh / "dcgan.pt")
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed run differs from uninterrupted"
    assert len((killed / "dcgan.csv").read_text().splitlines()) == EPOCHS + 1
    snapshots = sorted(p.name for p in (killed / "snapshots").iterdir())
    assert snapshots == ["epoch_0005.pt", "epoch_0010.pt", f"epoch_{EPOCHS:04d}.pt"]

    samples = tmp_path / "samples"
    subprocess.run([sys.executable, "-m", "gan.cli", "sample", "dcgan", "--model",
                    str(killed / "dcgan.pt"), "--out-dir", str(samples), "--params", str(params),
                    "--no-track"], cwd=REPO, check=True)
    assert Image.open(samples / "grid.png").width >= 10 * 28 * 3
    assert Image.open(samples / "training.gif").n_frames == EPOCHS + 1


def test_a_killed_run_in_a_dvc_temporary_copy_resumes_in_a_new_copy(tmp_path, prepared):
    """Queued experiments run in copies under <repo>/.dvc/tmp/exps that DVC deletes; the train
    stage mirrors its state into the repository, so the same experiment run again (in a new
    copy) resumes, snapshots included."""
    params = write_params(tmp_path, "cpu")
    repo = tmp_path / "repo"
    env = os.environ | {"DVC_ROOT": str(repo), "GAN_LOG_LEVEL": "INFO"}  # as DVC sets it
    first, second = (repo / ".dvc/tmp/exps" / name for name in ("tmp1", "tmp2"))
    for copy in (first, second):
        copy.mkdir(parents=True)
    cmd = train_cmd(prepared, Path("out"), params)
    mirrors = repo / ".dvc/tmp/gan-resume"
    reached = kill_after_epoch(cmd, mirrors / "dcgan-*/last.pt", 6, cwd=first, env=env)
    assert 6 <= reached < EPOCHS, "training finished before it could be killed"
    shutil.rmtree(first)  # what DVC does with the copy of a failed experiment
    resumed = subprocess.run(cmd, cwd=second, env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "restored from" in resumed.stderr
    assert f"resuming after epoch {reached} of {EPOCHS}" in resumed.stderr
    names = sorted(p.name for p in (second / "out/snapshots").iterdir())
    assert names == ["epoch_0005.pt", "epoch_0010.pt", f"epoch_{EPOCHS:04d}.pt"]
    assert not list(mirrors.iterdir())  # finished: the mirror is gone
    fresh = tmp_path / "fresh"
    subprocess.run(train_cmd(prepared, fresh, params), cwd=REPO, check=True)
    a, b = generator(second / "out/dcgan.pt"), generator(fresh / "dcgan.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_batch_larger_than_the_training_set_fails_before_any_work(tmp_path, prepared):
    """Refused in one line before the first epoch: no checkpoint, snapshot or CSV written."""
    params = write_params(tmp_path, "cpu")
    p = yaml.safe_load(params.read_text())
    params.write_text(yaml.safe_dump(p | {"batch_size": 4096}))  # the prepared data has 2,000
    out = tmp_path / "out"
    proc = subprocess.run(train_cmd(prepared, out, params), cwd=REPO, capture_output=True,
                          text=True)
    assert proc.returncode == 2, proc.stderr
    assert "'batch_size' 4096 exceeds the 2000 training images" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()

