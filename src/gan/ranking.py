"""The ranking of variants by mode coverage, and the two pictures read at a glance: FID against
KL per variant (error bars both ways), and each run's class shares over training epochs.

Stacked runs rank by modes covered (more first), then KL to uniform over the modes (less
first); 10-class runs by classes covered, then KL over the classes."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from gan import CLASS_NAMES, class_slug
from gan.comparison import fmt, md_table, mean_of, save_figure, std_of


def rank_keys(stacked: bool) -> tuple[str, str]:
    return ("modes_covered", "modes_kl") if stacked else ("classes_covered", "kl_to_uniform")


def ranked(rows: dict[str, dict], stacked: bool) -> list[str]:
    """Variant names (not the real data) best first; a variant missing a figure (not measured
    in every seed) ranks after those that have it."""
    covered, kl = rank_keys(stacked)

    def key(name: str) -> tuple[float, float]:
        row = rows[name]
        return (-mean_of(row.get(covered, -math.inf)), mean_of(row.get(kl, math.inf)))

    return sorted((n for n in rows if n != "real data"), key=key)


def ranking_table(rows: dict[str, dict], remedies: dict[str, str], stacked: bool) -> list[str]:
    """Markdown lines: rank, variant, remedy, coverage, KL, FID, recall (mean ± std)."""
    covered, kl = rank_keys(stacked)
    cols = [covered, kl, "fid", "recall"]
    body = [[str(i), name, remedies.get(name, "-"), *(fmt(rows[name].get(c)) for c in cols)]
            for i, name in enumerate(ranked(rows, stacked), 1)]
    real = rows.get("real data")
    if real is not None:
        body.append(["-", "real data", "-", *(fmt(real.get(c)) for c in cols)])
    return md_table(["rank", "variant", "remedy", *cols], body)


def fid_kl_chart(rows: dict[str, dict], stacked: bool, path: Path) -> None:
    """One point per variant at (KL, FID), error bars one std over seeds in both directions;
    lower-left is better (real data drawn as a star)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, kl = rank_keys(stacked)
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for name, r in rows.items():
        if r.get(kl) is None or r.get("fid") is None:
            continue
        x, y = mean_of(r[kl]), mean_of(r["fid"])
        if name == "real data":
            ax.plot(x, y, "k*", ms=12, label="real data")
        else:
            ax.errorbar(x, y, xerr=std_of(r[kl]), yerr=std_of(r["fid"]), fmt="o", capsize=3)
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
    ax.set_xlabel(f"{kl} (nats; 0 = every {'mode' if stacked else 'class'} equally often)")
    ax.set_ylabel("FID (classifier features)")
    ax.set_title("FID against KL to uniform per variant (mean ± std over seeds; lower left "
                 "is better)")
    if ax.get_legend_handles_labels()[0]:  # the real-data star, when it has both figures
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def read_shares(path: Path) -> tuple[list[int], list[list[float]]]:
    """A run's coverage CSV (evaluate stage): its snapshot epochs and class shares per epoch."""
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    columns = [f"share_{class_slug(k)}" for k in range(len(CLASS_NAMES))]
    return [int(r["epoch"]) for r in rows], [[float(r[c]) for c in columns] for r in rows]


def share_heatmap(runs: dict[str, dict[int, Path]], path: Path) -> None:
    """One panel per run (a row per variant, a column per seed): class (rows) against snapshot
    epoch (columns), colour the class's share of samples, so a class that disappears shows
    as its row going dark."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_rows, n_cols = len(runs), max(len(s) for s in runs.values())
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(2.6 * n_cols + 1.5, 1.9 * n_rows + 0.6),
                             squeeze=False, layout="constrained")
    image = None
    for i, (variant, seeds) in enumerate(runs.items()):
        for j, (seed, csv_path) in enumerate(sorted(seeds.items())):
            epochs, shares = read_shares(csv_path)
            ax = axes[i][j]
            image = ax.imshow([list(col) for col in zip(*shares, strict=True)], aspect="auto",
                              cmap="magma", vmin=0.0, vmax=0.3, interpolation="nearest")
            ax.set_title(f"{variant} seed{seed}", fontsize=8)
            ax.set_xticks(range(len(epochs)), epochs, fontsize=6)
            ax.set_yticks(range(len(CLASS_NAMES)), CLASS_NAMES if j == 0 else [], fontsize=6)
        for j in range(len(seeds), n_cols):
            axes[i][j].axis("off")
    fig.supxlabel("snapshot epoch", fontsize=9)
    fig.suptitle("Share of samples per class over training (uniform: 0.1)", fontsize=10)
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.6, label="share of samples")
    save_figure(fig, path)

