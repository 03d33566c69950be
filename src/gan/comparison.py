"""The cross-variant comparison: the report table, the per-class share CSV and bar chart."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

from gan import CLASS_NAMES
from gan.atomic import atomic_file

log = logging.getLogger(__name__)

COLUMNS = ("fid", "classes_covered", "kl_to_uniform", "classes_covered_corrected",
           "kl_to_uniform_corrected", "mean_confidence", "unsure_share", "precision", "recall",
           "density", "coverage", "label_accuracy", "intra_fid")


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown(rows: dict[str, dict], fid_floor: float) -> str:
    """Summary table and per-class share tables (as predicted, and corrected for the
    classifier's confusions), one row per source (test set, then variants)."""
    lines = ["# Mode-dropping report", "",
             f"FID floor (held-out validation images vs the test set, same N): {fid_floor:.3f}",
             "", "| source | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(_fmt(r.get(c)) for c in COLUMNS) + " |"
              for name, r in rows.items()]
    for key, title in (("class_share", "classifier's prediction"),
                       ("class_share_corrected", "corrected for the classifier's confusions")):
        lines += ["", f"## Share of samples per class ({title})", "",
                  "| source | " + " | ".join(CLASS_NAMES) + " |",
                  "|---" * (len(CLASS_NAMES) + 1) + "|"]
        lines += [f"| {name} | " + " | ".join(_fmt(r[key][c]) for c in CLASS_NAMES) + " |"
                  for name, r in rows.items() if key in r]
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
