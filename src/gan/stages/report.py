"""Stage `report`: the mode-dropping comparison across variants (table, chart, DVC plot)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from gan.atomic import write_text
from gan.comparison import COLUMNS, bar_chart, markdown, share_csv
from gan.config import load_params
from gan.errors import PipelineError
from gan.tracking import run_tags, start_run

log = logging.getLogger(__name__)


def run(metrics_dir: Path = Path("metrics"), out_dir: Path = Path("metrics/report"),
               params: Path = Path("params.yaml"), track: bool = True) -> None:
    """Compare every variant in params.yaml: METRICS_DIR/VARIANT.json against the reference."""
    p = load_params(params)
    reference_path = metrics_dir / "reference.json"
    if not reference_path.is_file():
        raise PipelineError(f"{reference_path}: not found; run `dvc repro reference` first")
    reference = json.loads(reference_path.read_text())
    # The real-data row: coverage of the test set; FID, intra-class FID and PRDC of as many
    # held-out images against it (the floors).
    held_out = {k: reference["held_out"][k] for k in ("precision", "recall", "density",
                                                        "coverage")}
    rows = {"real data": reference["test_set"] | held_out
            | {"fid": reference["fid_floor"], "intra_fid": reference["intra_fid_floor"]}}
    for variant in p.variants:
        path = metrics_dir / f"{variant}.json"
        if not path.is_file():
            raise PipelineError(f"{path}: not found; run `dvc repro evaluate@{variant}`")
        rows[variant] = json.loads(path.read_text())
    md, png, csv_path = out_dir / "report.md", out_dir / "class_share.png", \
        out_dir / "class_share.csv"
    write_text(md, markdown(rows, reference["fid_floor"]))
    write_text(csv_path, share_csv(rows))
    bar_chart(rows, p.eval.coverage_min_share, png)
    log.info("report: %s", md)
    with start_run(p.mlflow.experiment, "report", run_tags("report"), enabled=track) as tracker:
        for variant, r in rows.items():
            key = variant.replace(" ", "_")
            tracker.log_metrics({f"{key}/{c}": r[c] for c in COLUMNS if r.get(c) is not None})
        for path in (md, png, csv_path):
            tracker.log_artifact(path)
