"""Synthetic per-seed metrics whose means and standard deviations are known, for the tests of
the tables and of the report stage."""

from __future__ import annotations

from gan import CLASS_NAMES


def shares(**override: float) -> dict[str, float]:
    """A class histogram: the named classes as given, the rest sharing what is left."""
    named = {c.replace("/", "_").replace(" ", "_").replace("-", "_"): c for c in CLASS_NAMES}
    fixed = {named[k]: v for k, v in override.items()}
    rest = (1 - sum(fixed.values())) / (len(CLASS_NAMES) - len(fixed))
    return {c: fixed.get(c, rest) for c in CLASS_NAMES}


def run_metrics(seed: int, fid: float, bag: float, label_accuracy: float | None = None) -> dict:
    r = {"variant": "v", "seed": seed, "epoch": 5, "fid": fid, "classes_covered": 9 + (bag > 0),
         "kl_to_uniform": 0.5 - bag, "class_share": shares(bag=bag),
         "class_share_corrected": shares(bag=bag / 2)}
    if label_accuracy is not None:
        r["label_accuracy"] = label_accuracy
    return r


RUNS = [run_metrics(0, 10.0, 0.0), run_metrics(1, 12.0, 0.01), run_metrics(2, 14.0, 0.2)]
