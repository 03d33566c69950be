"""Stage `prepare`: parse the IDX files, split train/validation/test, write one artifact."""

from __future__ import annotations

import logging
from pathlib import Path

from gan.config import load_params
from gan.data.prepared import read_raw_split, save_prepared, split_data

log = logging.getLogger(__name__)


def run(raw_dir: Path = Path("data/raw"), out: Path = Path("data/prepared/fashion_mnist.pt"),
        params: Path = Path("params.yaml")) -> None:
    """Parse the raw IDX files, split train/validation/test, and write one compact artifact."""
    cfg = load_params(params)
    train, test = read_raw_split(raw_dir, "train"), read_raw_split(raw_dir, "test")
    splits = split_data(train, test, cfg.data.val_size, cfg.seed,
                        cfg.data.train_size, cfg.data.test_size)
    save_prepared(splits, out)
    log.info("prepared %s", {k: len(v.labels) for k, v in splits.items()})
