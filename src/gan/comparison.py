"""The cross-variant comparison: the report table, the per-class share CSV and bar chart.

A row is the real data (plain numbers) or a variant aggregated over seeds (`aggregate.Stat`:
mean and std)."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

from gan import CLASS_NAMES
from gan.aggregate import Stat
from gan.atomic import atomic_file

log = logging.getLogger(__name__)

COLUMNS = ("fid", "classes_covered", "kl_to_uniform", "classes_covered_corrected",
           "kl_to_uniform_corrected", "mean_confidence", "unsure_share", "precision", "recall",
           "density", "coverage", "label_accuracy", "intra_fid", "modes_covered", "modes_kl",
           "modes_covered_corrected", "modes_kl_corrected", "mode_accuracy")
# Stacked Fashion-MNIST: the protocol's figures first, in a table of their own.
MODE_COLUMNS = ("modes_covered", "modes_kl", "modes_covered_corrected", "modes_kl_corrected",
                "fid", "recall", "label_accuracy", "mode_accuracy")


def fmt(value: object) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def mean_of(value: float | Stat) -> float:
    return value.mean if isinstance(value, Stat) else value


def std_of(value: float | Stat) -> float:
    """For error bars: no spread drawn for the real data or a single seed."""
    return (value.std or 0.0) if isinstance(value, Stat) else 0.0


def md_table(header: list[str], body: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"] + \
        ["| " + " | ".join(row) + " |" for row in body]


def _columns(rows: dict[str, dict], columns: tuple[str, ...]) -> list[str]:
    """The columns some row has (a 10-class report has no mode columns)."""
    return [c for c in columns if any(r.get(c) is not None for r in rows.values())]


def _share_tables(rows: dict[str, dict]) -> list[tuple[str, str]]:
    tables = [("class_share", "classifier's prediction"),
              ("class_share_corrected", "corrected for the classifier's confusions")]
    channels = sorted({k for r in rows.values() for k in r if k.startswith("class_share_ch")})
    return tables + [(k, f"channel {k.removeprefix('class_share_ch')} of the stacked images")
                     for k in channels]


def markdown(rows: dict[str, dict], fid_floor: float, seeds: list[int], min_share: float,
             stack: int = 1, ranking: list[str] | None = None) -> str:
    """Summary table and per-class share tables (as predicted, and corrected for the
    classifier's confusions), one row per source (test set, then variants, mean ± std over
    seeds), and in how many seeds each class was dropped. Stacked runs (`stack` > 1) lead
    with the mode table of Stacked Fashion-MNIST and add each channel's class shares.
    `ranking`: the ranking table's lines (gan.ranking), placed first."""
    lines = ["# Mode-dropping report", "",
             f"Variants: mean ± std (sample standard deviation) over {len(seeds)} seed(s) "
             f"{seeds}. FID floor (held-out validation images vs the test set, same N): "
             f"{fid_floor:.3f}.", ""]
    if ranking:
        what = "modes covered, then KL over the modes" if stack > 1 else \
            "classes covered, then KL over the classes"
        lines += ["## Ranking", "", f"Best first by {what} (mean over seeds); remedy: the "
                  "variant's changes from the dcgan base (README: remedies).", "", *ranking, ""]
    if stack > 1:
        cols = _columns(rows, MODE_COLUMNS)
        lines += [f"Stacked Fashion-MNIST: {stack} images as channels, {10 ** stack} modes "
                  "(class tuples, read by the classifier channel by channel); the real-data "
                  "row is real stacked images built from held-out images.", "",
                  f"## Modes covered of {10 ** stack}, and KL to uniform over them", ""]
        lines += md_table(["source", *cols],
                        [[name, *(fmt(r.get(c)) for c in cols)] for name, r in rows.items()])
        lines += ["", "## Every metric", ""]
    cols = _columns(rows, COLUMNS)
    lines += md_table(["source", *cols],
                    [[name, *(fmt(r.get(c)) for c in cols)] for name, r in rows.items()])
    for key, title in _share_tables(rows):
        lines += ["", f"## Share of samples per class ({title})", ""]
        lines += md_table(["source", *CLASS_NAMES],
                        [[name, *(fmt(r[key][c]) for c in CLASS_NAMES)]
                         for name, r in rows.items() if key in r])
    lines += ["", f"## Seeds in which each class was dropped (share < {min_share}), "
                  f"of {len(seeds)}", ""]
    lines += md_table(["variant", *CLASS_NAMES],
                    [[name, *(str(r["dropped_in"][c]) for c in CLASS_NAMES)]
                     for name, r in rows.items() if "dropped_in" in r])
    return "\n".join(lines) + "\n"


def share_csv(rows: dict[str, dict]) -> str:
    """Wide CSV: one line per class, one column per source with the mean share (for the DVC
    plot), then one `<source> std` column per source."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["class_index", "class", *rows, *(f"{n} std" for n in rows)])
    for k, name in enumerate(CLASS_NAMES):
        shares = [r["class_share"][name] for r in rows.values()]
        writer.writerow([k, name, *(f"{mean_of(s):.5f}" for s in shares),
                         *(f"{std_of(s):.5f}" for s in shares)])
    return buf.getvalue()


def bar_chart(rows: dict[str, dict], min_share: float, path: Path) -> None:
    """Grouped bars: per-class share of every source (mean over seeds, error bars one std),
    with the coverage threshold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(12, 4.5))
    width = 0.8 / len(rows)
    for i, (name, r) in enumerate(rows.items()):
        shares = [r["class_share"][c] for c in CLASS_NAMES]
        ax.bar([k + (i - (len(rows) - 1) / 2) * width for k in range(len(CLASS_NAMES))],
               [mean_of(s) for s in shares], width, yerr=[std_of(s) for s in shares],
               capsize=1.5, error_kw={"elinewidth": 0.7}, label=name)
    ax.axhline(0.1, color="gray", lw=0.8, ls="--", label="uniform (0.1)")
    ax.axhline(min_share, color="red", lw=0.8, ls=":", label=f"covered threshold ({min_share})")
    ax.set_xticks(range(len(CLASS_NAMES)), CLASS_NAMES, rotation=20)
    ax.set_ylabel("share of samples")
    ax.set_title("Per-class share of generated samples (classifier's prediction; "
                 "mean ± std over seeds)")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    save_figure(fig, path)


def save_figure(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    with atomic_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def coverage_chart(rows: dict[str, dict], path: Path) -> None:
    """Two panels, a bar per source (mean ± std over seeds): modes covered and KL to uniform
    over them for stacked runs, else classes covered and KL over the 10 classes; the real
    data's value as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stacked = any("modes_covered" in r for r in rows.values())
    keys = (("modes_covered", "modes covered"), ("modes_kl", "KL to uniform over modes (nats)")
            ) if stacked else (("classes_covered", "classes covered"),
                               ("kl_to_uniform", "KL to uniform over classes (nats)"))
    real = rows.get("real data", {})
    names = [n for n in rows if n != "real data"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, (key, label) in zip(axes, keys, strict=True):
        values = [rows[n].get(key) for n in names]  # None: not measured, no bar
        ax.bar(names, [float("nan") if v is None else mean_of(v) for v in values],
               yerr=[0.0 if v is None else std_of(v) for v in values], capsize=4,
               color="tab:blue")
        if key in real:
            ax.axhline(mean_of(real[key]), color="gray", ls="--", lw=1, label="real data")
            ax.legend(fontsize=8)
        ax.set_ylabel(label)
        ax.tick_params(axis="x", rotation=20)
    fig.suptitle("Mode coverage per variant (mean ± std over seeds)")
    fig.tight_layout()
    save_figure(fig, path)
