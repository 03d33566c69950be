"""`gan grid NAME`: the table of a finished grid (gan.grid_table), made from the tracking
store. A command beside the stages, not a DVC stage; `gan queue --wait` runs it at the end."""

from __future__ import annotations

import logging
from pathlib import Path

from gan.config import load_params
from gan.files import write_text
from gan.grid_table import Grid, csv_text, evaluations, markdown, rows
from gan.store import tracking_uri
from gan.tracking import check_tracking, start_run

log = logging.getLogger(__name__)


def run(name: str, out_dir: Path = Path("metrics/grids"), params: Path = Path("params.yaml"),
        track: bool = True) -> None:
    """Write grid NAME's table (every point's headline metrics, mean ± std over seeds per
    variant, the point's overrides as columns, ranked as the report ranks) to
    OUT_DIR/NAME.md and OUT_DIR/NAME.csv, read from the tracking store, and log both as the
    artifacts of an MLflow run `grid NAME` (not with --no-track)."""
    import mlflow

    experiment = load_params(params).mlflow.experiment
    grid = Grid.load(name)
    check_tracking()  # the figures are read from the store, tracked or not
    mlflow.set_tracking_uri(tracking_uri())
    keys, table = rows(grid, evaluations(grid, experiment))
    md, table_csv = out_dir / f"{name}.md", out_dir / f"{name}.csv"
    write_text(md, markdown(grid, keys, table))
    write_text(table_csv, csv_text(keys, table))
    with start_run(experiment, f"grid {name}", {"stage": "grid", "grid": name},
                   enabled=track) as tracker:
        for path in (md, table_csv):
            tracker.log_artifact(path, "grid")
    log.info("grid %s: %d rows in %s and %s", name, len(table), md, table_csv)
