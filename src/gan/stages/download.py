"""Stage `download`: fetch the four Fashion-MNIST files, MD5-verified."""

from __future__ import annotations

from pathlib import Path

from gan.config import load_params
from gan.data.fetch import download_fashion_mnist, sources


def run(out_dir: Path = Path("data/raw"), params: Path = Path("params.yaml")) -> None:
    """Download the raw Fashion-MNIST files (MD5-verified) into OUT_DIR."""
    cfg = load_params(params).data
    download_fashion_mnist(out_dir, sources(cfg.mirrors, cfg.local_mirror), cfg.timeout_s)
