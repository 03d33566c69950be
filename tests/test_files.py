"""The one loading path: a clear one-line error (exit 2, nothing written) for a truncated,
empty, foreign or missing file, from the library and from the command line."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from gan.data.prepared import save_prepared
from gan.errors import BadInputError, MissingInputError
from gan.files import load_file
from tests.conftest import REPO, truncate
from tests.train_harness import written_state


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
