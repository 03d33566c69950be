"""Aggregation over seeds: one variant's per-seed metrics as mean and standard deviation.

The standard deviation is the sample one (n - 1), the spread a reader would expect from error
bars over training runs; with a single seed it is None (no spread measured, not zero)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from gan import CLASS_NAMES


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
