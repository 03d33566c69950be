"""Shared fixtures: the local Fashion-MNIST mirror and small real data."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from gan.data.prepared import read_raw_split, split_data

REPO = Path(__file__).resolve().parents[1]


# The longest files, longest first: `make test` runs the files on two workers (pytest-xdist,
# --dist loadfile), which take files in collection order, so these start at once, side by side.
LONGEST_FIRST = ("test_pipeline_e2e.py", "test_slurm.py", "test_tracking_server.py",
                 "test_tracking.py")


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("GAN_LOG_LEVEL", "WARNING")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: file order kept


@pytest.fixture(scope="session")
def mirror_dir() -> Path:
    """The directory holding the four official files: FASHION_MNIST_MIRROR or ../shared."""
    path = Path(os.environ.get("FASHION_MNIST_MIRROR", REPO.parent / "shared" / "fashion-mnist"))
    if not (path / "t10k-labels-idx1-ubyte.gz").is_file():
        pytest.fail(f"no Fashion-MNIST mirror at {path}: set FASHION_MNIST_MIRROR to a directory "
                    "holding the four official .gz files")
    return path


@pytest.fixture(scope="session")
def small_splits(mirror_dir: Path):
    """A small real split: 2,000 train, 500 validation, 1,000 test images."""
    return split_data(read_raw_split(mirror_dir, "train"), read_raw_split(mirror_dir, "test"),
                      val_size=500, seed=0, train_size=2000, test_size=1000)


def write_idx(path: Path, array: np.ndarray, magic: bytes | None = None) -> Path:
    """Write a gzip IDX file of uint8 data (optionally with a forged magic number)."""
    header = magic or bytes([0, 0, 0x08, array.ndim])
    header += struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())
    return path


def truncate(path: Path) -> Path:
    """Cut a file to half its length, as an interrupted copy leaves it."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.fixture(scope="session")
def prepared(tmp_path_factory, small_splits) -> Path:
    """The small splits as a prepared-data file, as the prepare stage writes it."""
    from gan.data.prepared import save_prepared

    path = tmp_path_factory.mktemp("data") / "prepared.pt"
    save_prepared(small_splits, path)
    return path
