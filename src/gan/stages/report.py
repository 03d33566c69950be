"""Stage `report`: the mode-dropping study across variants, each aggregated over its seeds
(table, charts, DVC plot, and an MLflow run with the same aggregates). On Stacked
Fashion-MNIST (data.stack > 1) it leads with the modes covered and their KL."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

from gan import class_slug
from gan.config import Params, load_params
from gan.errors import PipelineError
from gan.eval.charts import (
    bar_chart,
    convergence_chart,
    coverage_chart,
    fid_kl_chart,
    share_heatmap,
)
from gan.eval.tables import (
    COLUMNS,
    Stat,
    aggregate,
    markdown,
    rank_keys,
    ranked,
    ranking_table,
    share_csv,
    share_keys,
    versus_base,
)
from gan.files import write_text
from gan.layout import RunPaths
from gan.model_registry import register_best
from gan.remedies import BASE, remedy_tags
from gan.run_tree import copy_to_parent
from gan.tracked_data import dataset_name
from gan.tracking import check_tracking, run_tags, start_run

log = logging.getLogger(__name__)


def evaluate_output(metrics_dir: Path, variant: str, seed: int, kind: str) -> Path:
    """The evaluate stage's output KIND ("metrics" JSON or "coverage" CSV) of one run, which
    must exist (paths as in gan.layout)."""
    path = metrics_dir / getattr(RunPaths(variant, seed), kind).relative_to("metrics")
    if not path.is_file():
        raise PipelineError(f"{path}: not found; run `dvc repro evaluate@{variant}-{seed}`")
    return path


def load_runs(metrics_dir: Path, variant: str, seeds: list[int]) -> list[dict]:
    """The evaluate stage's JSON of every seed of VARIANT."""
    return [json.loads(evaluate_output(metrics_dir, variant, seed, "metrics").read_text())
            for seed in seeds]


def mlflow_aggregates(variant: str, row: dict) -> dict[str, float]:
    """`<variant>/<metric>_mean` and `_std`, per-class shares likewise, and
    `<variant>/dropped_in/<class>` (seeds in which the class was dropped)."""
    out: dict[str, float] = {}

    def put(name: str, value: float | Stat) -> None:
        if isinstance(value, Stat):
            out[f"{name}_mean"] = value.mean
            if value.std is not None:
                out[f"{name}_std"] = value.std
        else:
            out[name] = value

    for c in COLUMNS:
        if row.get(c) is not None:
            put(f"{variant}/{c}", row[c])
    for key in (*share_keys(row), "dropped_in"):
        for name, value in row.get(key, {}).items():
            put(f"{variant}/{key}/{class_slug(name)}", value)
    return out


def run(metrics_dir: Path = Path("metrics"), out_dir: Path = Path("metrics/report"),
        params: Path = Path("params.yaml"), track: bool = True) -> None:
    """Compare every variant in params.yaml over its `seeds`: METRICS_DIR/eval/VARIANT/seedK.json
    aggregated to mean ± std, against the real-data reference."""
    check_tracking(track)
    p = load_params(params)
    tags = run_tags("report") | {"seeds": ",".join(map(str, p.seeds)),
                                 "stack": str(p.data.stack)}
    with start_run(p.mlflow.experiment, "report", tags, enabled=track) as tracker:
        rows, runs, written = write_report(p, metrics_dir, out_dir)
        tracker.log_params({"seeds": p.seeds, "variants": list(p.variants),
                            "n_seeds": len(p.seeds), "stack": p.data.stack})
        for variant, row in rows.items():
            tracker.log_metrics(mlflow_aggregates(variant.replace(" ", "_"), row))
        for path in written:
            tracker.log_artifact(path)
        if tracker.experiment_run_id is not None:  # the ranking and pictures on the tree's root
            tracker.call(copy_to_parent, tracker.experiment_run_id, written)
        best = best_generator(rows, runs, p.data.stack > 1)
        if best is not None:
            name = f"{dataset_name(p.data.stack)}-generator"
            version = tracker.call(register_best, best["model_id"], name, {
                "variant": best["variant"], "seed": str(best["seed"])})
            if version is not None:
                log.info("registered %s seed %s as %s version %s, alias best", best["variant"],
                         best["seed"], name, version)


def best_generator(rows: dict[str, dict], runs: dict[str, list[dict]], stacked: bool
                   ) -> dict | None:
    """The evaluation of the best seed (by the ranking's figures) of the best-ranked variant
    whose generators were logged as MLflow models; None if none were."""
    covered, kl = rank_keys(stacked)
    for variant in ranked(rows, stacked):
        logged = [r for r in runs[variant] if r.get("model_id")]
        if logged:
            return max(logged, key=lambda r: (r.get(covered, 0), -r.get(kl, math.inf)))
    return None


def write_report(p: Params, metrics_dir: Path, out_dir: Path
                 ) -> tuple[dict, dict[str, list[dict]], list[Path]]:
    """The report's tables and pictures in OUT_DIR: its rows, each variant's evaluations (one
    per seed) and the files written."""
    reference_path = metrics_dir / "reference.json"
    if not reference_path.is_file():
        raise PipelineError(f"{reference_path}: not found; run `dvc repro reference` first")
    reference = json.loads(reference_path.read_text())
    # The real-data row: coverage of the test set; FID, KID, intra-class FID, PRDC and Vendi
    # of as many held-out images against it (the floors; KID and Vendi are absent from a
    # reference written before they were measured).
    held_out = {k: v for k, v in reference["held_out"].items() if k in
                ("precision", "recall", "density", "coverage", "kid", "vendi")}
    rows = {"real data": reference["test_set"] | held_out
            | {"fid": reference["fid_floor"], "intra_fid": reference["intra_fid_floor"]}}
    fid_floor = reference["fid_floor"]
    stack = p.data.stack
    if stack > 1:  # real stacked images from held-out images, scored as samples are
        stacked = reference.get("stacked")
        if not stacked or stacked["stack"] != stack:
            raise PipelineError(f"{reference_path}: has no real-data row for data.stack "
                                f"{stack}; run `dvc repro reference` first")
        rows["real data"], fid_floor = stacked, stacked["fid"]
    min_share = p.eval.coverage_min_share
    runs = {variant: load_runs(metrics_dir, variant, p.seeds) for variant in p.variants}
    for variant, per_seed in runs.items():
        rows[variant] = aggregate(per_seed, min_share)
    coverage = {v: {s: evaluate_output(metrics_dir, v, s, "coverage") for s in p.seeds}
                for v in p.variants}
    md, png, csv_path = out_dir / "report.md", out_dir / "class_share.png", \
        out_dir / "class_share.csv"
    coverage_png, fid_kl_png, heatmap_png, convergence_png = (
        out_dir / f"{name}.png" for name in ("coverage", "fid_kl", "share_heatmap", "convergence"))
    remedies = {name: remedy_tags(v)["remedy"] for name, v in p.variants.items()}
    ranking = ranking_table(rows, remedies, stack > 1, versus_base(runs, BASE, stack > 1))
    write_text(md, markdown(rows, fid_floor, p.seeds, min_share, stack, ranking))
    write_text(csv_path, share_csv(rows))
    bar_chart(rows, min_share, png)
    coverage_chart(rows, coverage_png)
    fid_kl_chart(rows, stack > 1, fid_kl_png)
    share_heatmap(coverage, heatmap_png)
    convergence_chart(coverage, stack > 1, convergence_png)
    log.info("report over seeds %s: %s", p.seeds, md)
    return rows, runs, [md, png, csv_path, coverage_png, fid_kl_png, heatmap_png,
                        convergence_png]
