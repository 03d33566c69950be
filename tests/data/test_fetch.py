import functools
import http.server
import shutil
import threading

import pytest

from gan.data.fetch import FILES, MIRROR_ENV, DownloadError, download_fashion_mnist, md5sum, sources


@pytest.fixture
def http_mirror(mirror_dir):
    """A real HTTP server on localhost serving the official files."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(mirror_dir))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture
def corrupt_mirror(tmp_path, mirror_dir):
    """A mirror whose training-labels file has one flipped byte."""
    path = tmp_path / "corrupt"
    shutil.copytree(mirror_dir, path)
    target = path / "train-labels-idx1-ubyte.gz"
    data = bytearray(target.read_bytes())
    data[100] ^= 0xFF
    target.write_bytes(bytes(data))
    return path


def test_published_md5_of_shared_files(mirror_dir):
    for name, md5 in FILES.items():
        assert md5sum(mirror_dir / name) == md5


def test_download_over_http(tmp_path, http_mirror):
    out = tmp_path / "raw"
    download_fashion_mnist(out, [http_mirror])
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)


def test_md5_mismatch_rejected_and_nothing_left(tmp_path, corrupt_mirror):
    out = tmp_path / "raw"
    with pytest.raises(DownloadError, match=r"(?s)train-labels.*MD5 mismatch \(got [0-9a-f]{32}"):
        download_fashion_mnist(out, [str(corrupt_mirror)])
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [corrupt_mirror]  # no temp directory left behind


def test_falls_back_in_order(tmp_path, corrupt_mirror, http_mirror, caplog):
    out = tmp_path / "raw"
    caplog.set_level("INFO", logger="gan.data.fetch")
    download_fashion_mnist(out, [str(corrupt_mirror), "http://127.0.0.1:9/", http_mirror])
    assert md5sum(out / "train-labels-idx1-ubyte.gz") == FILES["train-labels-idx1-ubyte.gz"]
    used = {r.args[0]: r.args[1] for r in caplog.records}
    assert used["train-labels-idx1-ubyte.gz"] == http_mirror  # corrupt copy skipped
    assert used["t10k-images-idx3-ubyte.gz"] == str(corrupt_mirror)  # first good source wins


def test_every_source_failing_lists_each_reason(tmp_path):
    out = tmp_path / "raw"
    srcs = [str(tmp_path / "empty"), "http://127.0.0.1:9/", "http://no-such-host.invalid/"]
    with pytest.raises(DownloadError) as info:
        download_fashion_mnist(out, srcs, timeout_s=5)
    message = str(info.value)
    for src in srcs:
        assert src in message
    assert "FASHION_MNIST_MIRROR" in message
    assert not out.exists()


def test_existing_output_kept_when_download_fails(tmp_path):
    out = tmp_path / "raw"
    out.mkdir()
    (out / "keep").write_text("old")
    with pytest.raises(DownloadError):
        download_fashion_mnist(out, [str(tmp_path / "missing")])
    assert (out / "keep").read_text() == "old"


def test_env_mirror_wins_over_param(monkeypatch, tmp_path):
    monkeypatch.setenv(MIRROR_ENV, str(tmp_path / "env"))
    assert sources(["http://m/"], str(tmp_path / "param")) == [str(tmp_path / "env"), "http://m/"]
    monkeypatch.delenv(MIRROR_ENV)
    assert sources(["http://m/"], str(tmp_path / "param")) == [str(tmp_path / "param"),
                                                                "http://m/"]
    assert sources(["http://m/"], None) == ["http://m/"]
