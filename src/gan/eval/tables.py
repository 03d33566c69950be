"""The report's tables: one variant's per-seed metrics as mean and standard deviation, the
cross-variant comparison (markdown tables and the per-class share CSV), and the ranking of
variants by mode coverage.

A row is the real data (plain numbers) or a variant aggregated over seeds (`Stat`: mean and
std). The standard deviation is the sample one (n - 1), the spread a reader would expect from
error bars over training runs; with a single seed it is None (no spread measured, not zero).
Stacked runs rank by modes covered (more first), then KL to uniform over the modes (less
first); 10-class runs by classes covered, then KL over the classes."""

from __future__ import annotations

import csv
import io
import math
import statistics
from dataclasses import dataclass

from gan import CLASS_NAMES
from gan.eval.decisions import Decision, decide


@dataclass(frozen=True)
class Stat:
    mean: float
    std: float | None
    n: int

    @classmethod
    def of(cls, values: list[float]) -> Stat:
        std = statistics.stdev(values) if len(values) > 1 else None
        return cls(statistics.fmean(values), std, len(values))

    def __str__(self) -> str:
        return f"{self.mean:.3f}" if self.std is None else f"{self.mean:.3f} ± {self.std:.3f}"


def share_keys(run: dict) -> list[str]:
    """The per-class share histograms of a run: class_share, class_share_corrected and, for
    stacked runs, each channel's class_share_ch<c>."""
    return [k for k, v in run.items() if k.startswith("class_share") and isinstance(v, dict)]


def aggregate(runs: list[dict], min_share: float) -> dict:
    """Mean and std of every numeric metric the runs share, of each class's shares, and the
    number of runs in which each class was dropped (its share below `min_share`, the same
    threshold that `classes_covered` uses)."""
    if not runs:
        raise ValueError("aggregate needs at least one run")
    numeric = [k for k, v in runs[0].items()
               if isinstance(v, int | float) and not isinstance(v, bool)
               and k not in ("seed", "epoch") and all(r.get(k) is not None for r in runs)]
    out: dict = {k: Stat.of([float(r[k]) for r in runs]) for k in numeric}
    for key in share_keys(runs[0]):
        if all(key in r for r in runs):
            out[key] = {c: Stat.of([r[key][c] for r in runs]) for c in CLASS_NAMES}
    out["dropped_in"] = {c: sum(r["class_share"][c] < min_share for r in runs)
                         for c in CLASS_NAMES}
    out["seeds"] = [r.get("seed") for r in runs]
    return out


COLUMNS = ("fid", "kid", "classes_covered", "kl_to_uniform", "classes_covered_corrected",
           "kl_to_uniform_corrected", "vendi", "mean_confidence", "unsure_share", "precision",
           "recall", "density", "coverage", "label_accuracy", "intra_fid", "modes_covered",
           "modes_kl", "modes_covered_corrected", "modes_kl_corrected", "mode_accuracy")
# Stacked Fashion-MNIST: the protocol's figures first, in a table of their own.
MODE_COLUMNS = ("modes_covered", "modes_kl", "modes_covered_corrected", "modes_kl_corrected",
                "vendi", "fid", "kid", "recall", "label_accuracy", "mode_accuracy")


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
    `ranking`: the ranking table's lines (ranking_table), placed first."""
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


def ranking_table(rows: dict[str, dict], remedies: dict[str, str], stacked: bool,
                  versus_base: dict[str, tuple[Decision, Decision]] | None = None) -> list[str]:
    """Markdown lines: rank, variant, remedy, coverage, KL, FID, recall (mean ± std) and, with
    `versus_base` (gan.eval.decisions, coverage then KL), each variant's verdict against the
    base with the difference, its 95% interval and the Holm-corrected p-value."""
    covered, kl = rank_keys(stacked)
    cols = [covered, kl, "fid", "recall"]
    extra = [f"{covered} vs base", f"{kl} vs base"] if versus_base else []

    def verdicts(name: str) -> list[str]:
        if not versus_base:
            return []
        return [str(d) for d in versus_base[name]] if name in versus_base else ["base", "base"]

    body = [[str(i), name, remedies.get(name, "-"), *(fmt(rows[name].get(c)) for c in cols),
             *verdicts(name)] for i, name in enumerate(ranked(rows, stacked), 1)]
    real = rows.get("real data")
    if real is not None:
        body.append(["-", "real data", "-", *(fmt(real.get(c)) for c in cols),
                     *(["-"] * len(extra))])
    caption = ["", "vs base: better, worse or undecided against the base (more covered, less "
               "KL is better): the difference of the means over seeds [its 95% interval, "
               "Welch], and the p-value of Welch's t-test corrected for the number of "
               "variants (Holm); decided at p < 0.05."] if versus_base else []
    return md_table(["rank", "variant", "remedy", *cols, *extra], body) + caption


def versus_base(runs: dict[str, list[dict]], base: str, stacked: bool
                ) -> dict[str, tuple[Decision, Decision]]:
    """Each variant's decisions against BASE from its per-seed metrics: more modes (classes)
    covered is better, less KL is better. Empty without the base or with fewer than two seeds
    (nothing to decide on)."""
    covered, kl = rank_keys(stacked)
    if base not in runs or min(len(r) for r in runs.values()) < 2:
        return {}
    per_seed = {k: {n: [float(r[k]) for r in rs] for n, rs in runs.items()} for k in (covered, kl)}
    cov, div = decide(per_seed[covered], base, True), decide(per_seed[kl], base, False)
    return {n: (cov[n], div[n]) for n in cov}
