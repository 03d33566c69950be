"""The `report` stage: one mode-dropping comparison across variants (table, chart, DVC plot)."""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path

from gan import CLASS_NAMES
from gan.atomic import atomic_file, write_text
from gan.config import load_params
from gan.errors import PipelineError
from gan.tracking import run_tags, start_run

log = logging.getLogger(__name__)

COLUMNS = ("fid", "classes_covered", "kl_to_uniform", "mean_confidence", "precision", "recall",
           "density", "coverage", "label_accuracy", "intra_fid")


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown(rows: dict[str, dict], fid_floor: float) -> str:
    """Summary table and per-class share table, one row per source (test set, then variants)."""
    lines = ["# Mode-dropping report", "",
             f"FID floor (real training images vs the test set, same N): {fid_floor:.3f}", "",
             "| source | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(_fmt(r.get(c)) for c in COLUMNS) + " |"
              for name, r in rows.items()]
    lines += ["", "## Share of samples per class (classifier's prediction)", "",
              "| source | " + " | ".join(CLASS_NAMES) + " |", "|---" * (len(CLASS_NAMES) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(f"{r['class_share'][c]:.3f}" for c in CLASS_NAMES)
              + " |" for name, r in rows.items()]
    return "\n".join(lines) + "\n"


def share_csv(rows: dict[str, dict]) -> str:
    """Wide CSV: one line per class, one column per source (for the DVC plot)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["class_index", "class", *rows])
    for k, name in enumerate(CLASS_NAMES):
        writer.writerow([k, name, *(f"{r['class_share'][name]:.5f}" for r in rows.values())])
    return buf.getvalue()


def bar_chart(rows: dict[str, dict], min_share: float, path: Path) -> None:
    """Grouped bars: per-class share of every source, with the coverage threshold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(12, 4.5))
    width = 0.8 / len(rows)
    for i, (name, r) in enumerate(rows.items()):
        ax.bar([k + (i - (len(rows) - 1) / 2) * width for k in range(len(CLASS_NAMES))],
               [r["class_share"][c] for c in CLASS_NAMES], width, label=name)
    ax.axhline(0.1, color="gray", lw=0.8, ls="--", label="uniform (0.1)")
    ax.axhline(min_share, color="red", lw=0.8, ls=":", label=f"covered threshold ({min_share})")
    ax.set_xticks(range(len(CLASS_NAMES)), CLASS_NAMES, rotation=20)
    ax.set_ylabel("share of samples")
    ax.set_title("Per-class share of generated samples (classifier's prediction)")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    with atomic_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def run_report(metrics_dir: Path = Path("metrics"), out_dir: Path = Path("metrics/report"),
               params: Path = Path("params.yaml"), track: bool = True) -> None:
    """Compare every variant in params.yaml: METRICS_DIR/VARIANT.json against the reference."""
    p = load_params(params)
    reference_path = metrics_dir / "reference.json"
    if not reference_path.is_file():
        raise PipelineError(f"{reference_path}: not found; run `dvc repro reference` first")
    reference = json.loads(reference_path.read_text())
    # The real-data row: coverage of the test set; FID and PRDC of n training images vs it.
    rows = {"real data": reference["test_set"] | reference["train_subset"]
            | {"fid": reference["fid_floor"]}}
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
