"""Writes on a full or read-only disk, for real: a small tmpfs mounted for each test (as root;
skipped where mounting is not allowed). Every write stops with one line naming the path, the
error and the fix, exit status 2, and keeps what was there; a training whose disk fills after
an epoch resumes exactly once there is space."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
import yaml

from gan.errors import DiskError
from gan.files import save_file, write_text
from tests.conftest import REPO
from tests.train_runs import train_cmd


@contextmanager
def tmpfs(where: Path, size: int, read_only: bool = False) -> Iterator[Path]:
    """A tmpfs of SIZE bytes mounted at WHERE for the block."""
    where.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (root and CAP_SYS_ADMIN needed): "
                    f"{proc.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def resize(where: Path, size: int) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(where)], check=True)


def fill(where: Path) -> Path:
    """Use up the filesystem's free space with one file."""
    filler = where / "filler"
    with filler.open("wb", buffering=0) as out:
        try:
            while out.write(b"\0" * 4096):
                pass
        except OSError:  # full
            pass
    return filler


def one_line(stderr: str) -> str:
    """The stage's error: exactly one ERROR line and no traceback."""
    assert "Traceback" not in stderr, stderr
    (line,) = [ln for ln in stderr.splitlines() if " ERROR " in ln]
    return line


@pytest.mark.parametrize("write", [
    lambda p: save_file({"x": torch.zeros(64, 1024)}, p),
    lambda p: write_text(p, "epoch,g_loss\n" + "1,0.5\n" * 20000),
], ids=["torch file", "text file"])
def test_a_write_on_a_full_disk_is_one_error_and_keeps_the_old_file(tmp_path, write):
    with tmpfs(tmp_path / "disk", 64 * 1024) as disk:
        target = disk / "out" / "file"
        target.parent.mkdir()
        target.write_text("old")
        fill(disk)
        with pytest.raises(DiskError) as err:
            write(target)
        assert str(target) in str(err.value)
        assert "No space left on device (ENOSPC); free space there" in str(err.value)
        assert target.read_text() == "old"
        assert sorted(p.name for p in target.parent.iterdir()) == ["file"]  # no temp file


def test_a_write_on_a_read_only_disk_is_one_error(tmp_path):
    with tmpfs(tmp_path / "disk", 64 * 1024, read_only=True) as disk:
        with pytest.raises(DiskError, match=r"Read-only file system \(EROFS\); the filesystem "
                                            r"is read-only: point the output"):
            write_text(disk / "metrics" / "m.json", "{}")


def params_file(tmp_path: Path) -> Path:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params |= {"device": "cpu", "epochs": 3, "batch_size": 64}
    params["variants"]["dcgan"]["width"] = 8
    params["eval"]["eval_every"] = 0
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def train(prepared: Path, out: Path, params: Path, state_dir: Path | None = None
          ) -> subprocess.CompletedProcess:
    cmd = train_cmd(prepared, out, params)
    if state_dir is not None:
        cmd[cmd.index("--state-dir") + 1] = str(state_dir)
    env = os.environ | {"PYTHONPATH": str(REPO / "src"), "GAN_LOG_LEVEL": "INFO"}
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)


def generator(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["models"]["generator"]["state_dict"]


@pytest.mark.slow
def test_training_on_a_disk_that_fills_stops_in_one_line_and_resumes_exactly(tmp_path,
                                                                           prepared):
    params = params_file(tmp_path)
    assert train(prepared, tmp_path / "reference", params).returncode == 0
    reference = generator(tmp_path / "reference" / "dcgan.pt")
    size = (tmp_path / "reference" / "dcgan.pt").stat().st_size  # the last, largest state

    # Room for one checkpoint, not for the next beside it (each replaces the last atomically).
    with tmpfs(tmp_path / "disk", size * 6 // 5) as disk:
        proc = train(prepared, tmp_path / "run", params, disk / "state")
        assert proc.returncode == 2, proc.stderr
        line = one_line(proc.stderr)
        assert f"{disk / 'state' / 'last.pt'}: cannot write it: No space left on device " \
               "(ENOSPC); free space there" in line, line
        kept = torch.load(disk / "state" / "last.pt", weights_only=True)["extra"]
        assert kept["epoch"] == 1  # the last complete checkpoint, and no temporary file
        assert [p.name for p in (disk / "state").iterdir()] == ["last.pt"]

        resize(disk, size * 3)  # space again: the rerun resumes and ends where one run would
        proc = train(prepared, tmp_path / "run", params, disk / "state")
        assert proc.returncode == 0, proc.stderr
        assert re.search(r"resuming after epoch 1 of 3", proc.stderr), proc.stderr
    resumed = generator(tmp_path / "run" / "dcgan.pt")
    assert all(torch.equal(resumed[k], reference[k]) for k in reference)

    # Full at the first write: nothing to resume, nothing left behind.
    with tmpfs(tmp_path / "small", size // 4) as small:
        proc = train(prepared, tmp_path / "first", params, small / "state")
        assert proc.returncode == 2, proc.stderr
        assert "No space left on device (ENOSPC)" in one_line(proc.stderr)
        assert not list((small / "state").iterdir())
