import gzip

import numpy as np
import pytest

from gan.data.idx import IdxError, read_idx
from gan.data.prepared import read_raw_split
from tests.conftest import write_idx


def test_reads_real_test_labels(mirror_dir):
    labels = read_idx(mirror_dir / "t10k-labels-idx1-ubyte.gz", ndim=1)
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert np.bincount(labels).tolist() == [1000] * 10


def test_real_split_images_and_labels(mirror_dir):
    split = read_raw_split(mirror_dir, "test")
    assert split.images.shape == (10000, 28, 28)
    assert split.labels.shape == (10000,)


def test_roundtrip_synthetic(tmp_path):
    array = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    assert (read_idx(write_idx(tmp_path / "x.gz", array), ndim=3) == array).all()


def test_bad_magic_names_file(tmp_path):
    path = write_idx(tmp_path / "x.gz", np.zeros((2, 2, 2)), magic=bytes([0, 0, 0x0D, 3]))
    with pytest.raises(IdxError, match=r"x\.gz: bad IDX magic 0x00000d03"):
        read_idx(path, ndim=3)


def test_wrong_dimension_count(tmp_path):
    path = write_idx(tmp_path / "labels.gz", np.zeros(5))
    with pytest.raises(IdxError, match="3 dimension"):
        read_idx(path, ndim=3)


def test_count_mismatch_between_header_and_data(tmp_path):
    path = tmp_path / "short.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + bytes(7))
    with pytest.raises(IdxError, match=r"declares shape \(10,\).*holds 7"):
        read_idx(path, ndim=1)


def test_truncated_gzip(tmp_path, mirror_dir):
    data = (mirror_dir / "t10k-labels-idx1-ubyte.gz").read_bytes()
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IdxError, match=r"t10k-labels-idx1-ubyte\.gz: truncated or corrupt gzip"):
        read_idx(path, ndim=1)


def test_not_gzip_at_all(tmp_path):
    path = tmp_path / "plain.gz"
    path.write_bytes(b"<html>404 not found</html>")
    with pytest.raises(IdxError, match="plain.gz: truncated or corrupt gzip"):
        read_idx(path, ndim=1)


def test_missing_file(tmp_path):
    with pytest.raises(IdxError, match="not found; run the download stage"):
        read_idx(tmp_path / "absent.gz", ndim=1)


def test_images_labels_count_mismatch(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((3, 28, 28)))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(4))
    with pytest.raises(IdxError, match="holds 3 images but .* holds 4 labels"):
        read_raw_split(tmp_path, "test")
