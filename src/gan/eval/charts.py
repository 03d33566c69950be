"""The report's charts: per-class shares per variant, mode coverage per variant, FID against
KL per variant (error bars both ways), and each run's class shares over training epochs.
Drawn with matplotlib's Agg backend (files, no display)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from gan import CLASS_NAMES, class_slug
from gan.eval.tables import mean_of, rank_keys, std_of
from gan.files import atomic_file


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, imported when a chart is drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path) -> None:
    plt = pyplot()
    with atomic_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def bar_chart(rows: dict[str, dict], min_share: float, path: Path) -> None:
    """Grouped bars: per-class share of every source (mean over seeds, error bars one std),
    with the coverage threshold."""
    plt = pyplot()

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


def coverage_chart(rows: dict[str, dict], path: Path) -> None:
    """Two panels, a bar per source (mean ± std over seeds): modes covered and KL to uniform
    over them for stacked runs, else classes covered and KL over the 10 classes; the real
    data's value as a dashed line."""
    plt = pyplot()

    stacked = any("modes_covered" in r for r in rows.values())
    what = "modes" if stacked else "classes"
    keys = tuple(zip(rank_keys(stacked), (f"{what} covered",
                                          f"KL to uniform over {what} (nats)"), strict=True))
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


def fid_kl_chart(rows: dict[str, dict], stacked: bool, path: Path) -> None:
    """One point per variant at (KL, FID), error bars one std over seeds in both directions;
    lower-left is better (real data drawn as a star)."""
    plt = pyplot()

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
    plt = pyplot()

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


def read_curve(path: Path, keys: tuple[str, ...]) -> tuple[list[int], list[list[float]]]:
    """A run's coverage CSV: the training step of each snapshot that has one, and KEYS there."""
    with path.open() as fh:
        rows = [r for r in csv.DictReader(fh) if r.get("step")]
    return [int(r["step"]) for r in rows], [[float(r[k]) for k in keys] for r in rows]


def line_style(k: int) -> dict[str, str]:
    """The K-th line's colour and dash: ten colours, then the same ten dashed, then dotted, so
    the study's 17 variants never share a style."""
    return {"color": f"C{k % 10}", "linestyle": ("-", "--", ":")[k // 10 % 3]}


def convergence_chart(runs: dict[str, dict[int, Path]], stacked: bool, path: Path) -> None:
    """Modes (classes) covered and KL to uniform against training steps, one line per variant:
    the mean over seeds with a band of ± one std, at the steps every seed has a snapshot."""
    plt = pyplot()
    keys = rank_keys(stacked)
    what = "modes" if stacked else "classes"
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for k, (variant, seeds) in enumerate(runs.items()):
        curves = [dict(zip(*read_curve(p, keys), strict=True)) for p in seeds.values()]
        steps = sorted(set.intersection(*(set(c) for c in curves)))
        if not steps:
            continue  # snapshots without steps (written by an older version)
        values = np.array([[c[s] for s in steps] for c in curves])        # (seeds, steps, 2)
        mean, std = values.mean(0), values.std(0, ddof=1) if len(curves) > 1 else 0 * values[0]
        for i, ax in enumerate(axes):
            (line,) = ax.plot(steps, mean[:, i], marker=".", label=variant, **line_style(k))
            ax.fill_between(steps, mean[:, i] - std[:, i], mean[:, i] + std[:, i],
                            color=line.get_color(), alpha=0.2)
    for ax, label in zip(axes, (f"{what} covered", f"KL to uniform over {what} (nats)"),
                         strict=True):
        ax.set_xlabel("training step (batches)")
        ax.set_ylabel(label)
    if axes[0].get_legend_handles_labels()[0]:  # runs with steps in their snapshots
        axes[0].legend(fontsize=8, ncol=2)
    fig.suptitle(f"Convergence: {what} covered and KL over training (mean ± std over seeds)")
    fig.tight_layout()
    save_figure(fig, path)
