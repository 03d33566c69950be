"""A grid of experiments (`gan queue`, local or `--slurm`) as one answer: a table of every
grid point's headline metrics, mean ± std over seeds per variant, the point's overrides as
columns, sorted as the report ranks variants; written as markdown and CSV under
metrics/grids/ and logged to the tracking store as a run named after the grid.

The grid's definition (its experiments' names and overrides) is saved when it is queued or
submitted, in `.dvc/tmp/gan-grids/<grid>.json`; the figures are read from the tracking store
(each experiment's evaluation runs), so the table can be made on any machine that reaches the
store, at the end of `--wait` or later with `gan grid <grid>`."""

from __future__ import annotations

import csv
import io
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

from gan.errors import PipelineError
from gan.eval.tables import Stat, md_table, rank_keys
from gan.files import write_text
from gan.layout import project_root

# The evaluation's final figures, as the evaluate stage logs them (eval/<key>).
HEADLINE = ("classes_covered", "kl_to_uniform", "modes_covered", "modes_kl", "fid", "kid",
            "vendi")


@dataclass(frozen=True)
class Grid:
    name: str                  # also the prefix of its experiments' names: <name>-<i>
    points: list[list[str]]    # each point's overrides, KEY=VALUE

    def experiment(self, i: int) -> str:
        return f"{self.name}-{i}"

    @staticmethod
    def saved(name: str, root: Path | None = None) -> Path:
        return (root or project_root()) / ".dvc" / "tmp" / "gan-grids" / f"{name}.json"

    def save(self) -> None:
        write_text(self.saved(self.name), json.dumps({"points": self.points}, indent=1))

    @classmethod
    def new(cls, kind: str, points: list[list[str]]) -> Grid:
        """A grid named `<kind>-<date>-<time>`, not yet saved (a grid saved in the same second
        makes it wait for the next)."""
        while cls.saved(name := f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}").exists():
            time.sleep(0.5)
        return cls(name, points)

    @classmethod
    def load(cls, name: str) -> Grid:
        path = cls.saved(name)
        if not path.is_file():
            known = sorted(p.stem for p in path.parent.glob("*.json"))
            raise PipelineError(f"grid {name!r}: no definition at {path}; the grids queued or "
                                f"submitted from this repository: {known or 'none'}")
        return cls(name, json.loads(path.read_text())["points"])


def evaluations(grid: Grid, experiment: str) -> dict[int, list[dict]]:
    """Point index -> the final figures of its finished evaluation runs (variant, seed and
    HEADLINE keys), from the tracking store."""
    import mlflow

    exp = mlflow.get_experiment_by_name(experiment)
    if exp is None:
        return {}
    runs = mlflow.search_runs([exp.experiment_id], output_format="list",
                              filter_string=f"tags.stage = 'evaluate' and attributes.status = "
                                            f"'FINISHED' and tags.dvc_exp_name LIKE "
                                            f"'{grid.name}-%'")
    index = {grid.experiment(i): i for i in range(len(grid.points))}
    out: dict[int, list[dict]] = {}
    for run in runs:
        i = index.get(run.data.tags.get("dvc_exp_name", ""))
        if i is None:
            continue
        figures = {k: run.data.metrics[f"eval/{k}"] for k in HEADLINE
                   if f"eval/{k}" in run.data.metrics}
        out.setdefault(i, []).append({"variant": run.data.tags.get("variant", "?"),
                                      "seed": run.data.tags.get("seed", "?"), **figures})
    return out


def rows(grid: Grid, found: dict[int, list[dict]]) -> tuple[list[str], list[dict]]:
    """(override keys, one row per point and variant: overrides, variant, n_seeds, Stat per
    headline figure), best first as the report ranks (more covered, then less KL); points
    with no finished evaluation last, marked."""
    keys = list(dict.fromkeys(o.split("=", 1)[0] for p in grid.points for o in p))
    out = []
    for i, point in enumerate(grid.points):
        given = dict(o.split("=", 1) for o in point)
        base = {k: given.get(k, "") for k in keys} | {"experiment": grid.experiment(i)}
        by_variant: dict[str, list[dict]] = {}
        for run in found.get(i, []):
            by_variant.setdefault(run["variant"], []).append(run)
        if not by_variant:
            out.append(base | {"variant": "-", "n_seeds": 0, "note": "no finished evaluation"})
        for variant, runs in sorted(by_variant.items()):
            stats = {k: Stat.of([r[k] for r in runs]) for k in HEADLINE
                     if all(k in r for r in runs)}
            out.append(base | {"variant": variant, "n_seeds": len(runs), **stats})
    covered, kl = rank_keys(stacked=any("modes_covered" in r for r in out))

    def rank(row: dict) -> tuple[float, float]:
        c, d = row.get(covered), row.get(kl)
        return (-(c.mean if c else -math.inf), d.mean if d else math.inf)

    return keys, sorted(out, key=rank)


def figures_of(table: list[dict]) -> list[str]:
    return [k for k in HEADLINE if any(k in r for r in table)]


def markdown(grid: Grid, keys: list[str], table: list[dict]) -> str:
    figures = figures_of(table)
    header = ["rank", *keys, "variant", "n_seeds", *figures, "experiment"]
    body = [[str(n), *(r[k] for k in keys), r["variant"], str(r["n_seeds"]),
             *(str(r[f]) if f in r else r.get("note", "-") for f in figures), r["experiment"]]
            for n, r in enumerate(table, 1)]
    return "\n".join([f"# Grid {grid.name}", "",
                      f"{len(grid.points)} points; mean ± std over seeds of each point's "
                      "variants, ranked as the report ranks (more covered, then less KL).", "",
                      *md_table(header, body), ""])


def csv_text(keys: list[str], table: list[dict]) -> str:
    figures = figures_of(table)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([*keys, "variant", "n_seeds", *(f"{f}{s}" for f in figures
                                                  for s in ("_mean", "_std")), "experiment"])
    for r in table:
        stats = [(r[f].mean, "" if r[f].std is None else r[f].std) if f in r else ("", "")
                 for f in figures]
        writer.writerow([*(r[k] for k in keys), r["variant"], r["n_seeds"],
                         *(v for pair in stats for v in pair), r["experiment"]])
    return buf.getvalue()
