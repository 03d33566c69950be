"""`gan union`: rank the variants of several experiments together. A study split over variants
(one experiment per core, each with the base) ends as several workspaces; this gathers their
evaluations, after checking that they are one study (the same params apart from `variants`,
the same real-data reference, the same evaluations of a variant they share), and the report
stage's write_report ranks the union. Files only: no MLflow run (each experiment logged its
own)."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from gan.config import load_params, read_yaml
from gan.errors import PipelineError
from gan.files import atomic_dir
from gan.layout import RunPaths
from gan.stages.report import evaluate_output, write_report

log = logging.getLogger(__name__)

MARKER = "union.json"  # written in OUT: a directory holding it may be replaced by a new union


def comparable(evaluation: dict) -> dict:
    """An evaluation without what differs between equal runs (the MLflow model's id)."""
    return {k: v for k, v in evaluation.items() if k != "model_id"}


def first_difference(a: Any, b: Any, key: str = "") -> str | None:
    """The dotted key at which two parsed params first differ, or None if they are equal."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in [*a, *(k for k in b if k not in a)]:
            found = first_difference(a.get(k), b.get(k), f"{key}.{k}" if key else str(k))
            if found:
                return found
        return None
    return None if a == b else key or "(top level)"


def merged_params(experiments: list[Path]) -> dict:
    """The first experiment's params with every experiment's variants; raises PipelineError
    naming the key where two experiments differ outside `variants`, or a variant they
    configure differently."""
    merged = read_yaml(experiments[0] / "params.yaml")
    for exp in experiments[1:]:
        other = read_yaml(exp / "params.yaml")
        rest = first_difference({k: v for k, v in merged.items() if k != "variants"},
                                {k: v for k, v in other.items() if k != "variants"})
        if rest:
            raise PipelineError(f"{exp / 'params.yaml'}: `{rest}` differs from "
                                f"{experiments[0] / 'params.yaml'}; a union ranks one study "
                                "split over variants, so every other key must be equal")
        for name, config in other["variants"].items():
            differs = first_difference(merged["variants"].get(name, config), config)
            if differs:
                raise PipelineError(f"{exp / 'params.yaml'}: variant {name} has another "
                                    f"`{differs}` than in an earlier experiment; rename one")
            merged["variants"].setdefault(name, config)
    return merged


def gather(experiments: list[Path], seeds: list[int], metrics: Path) -> None:
    """Copy every experiment's evaluations and coverage curves into METRICS, checking that a
    variant run in several experiments came out the same in each (model ids aside)."""
    seen: dict[tuple[str, int], tuple[Path, dict]] = {}  # (variant, seed): first exp, its eval
    for exp in experiments:
        for variant in load_params(exp / "params.yaml").variants:
            for seed in seeds:
                path = evaluate_output(exp / "metrics", variant, seed, "metrics")
                evaluation = comparable(json.loads(path.read_text()))
                first, first_evaluation = seen.setdefault((variant, seed), (exp, evaluation))
                if first is not exp:
                    if first_evaluation != evaluation:
                        raise PipelineError(
                            f"{path}: differs from {first}'s evaluation of {variant} seed "
                            f"{seed}; the experiments did not run the same {variant}, so "
                            "they are not one study")
                    continue
                for kind in ("metrics", "coverage"):
                    target = metrics / getattr(RunPaths(variant, seed), kind).relative_to(
                        "metrics")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(evaluate_output(exp / "metrics", variant, seed, kind), target)


def reference(experiments: list[Path]) -> bytes:
    """The experiments' real-data reference, which must be the same file in each."""
    paths = [exp / "metrics" / "reference.json" for exp in experiments]
    for path in paths:
        if not path.is_file():
            raise PipelineError(f"{path}: not found; run `dvc repro reference` there first")
    first = paths[0].read_bytes()
    for path in paths[1:]:
        if path.read_bytes() != first:
            raise PipelineError(f"{path}: differs from {paths[0]}; the experiments did not "
                                "use the same data and classifier")
    return first


EXPERIMENTS = typer.Argument(help="the experiments' workspaces (params.yaml and metrics/)")
OUT = typer.Option(help="where the union is written: params.yaml, metrics/ and report/")


def run(experiments: Annotated[list[Path], EXPERIMENTS],
        out: Annotated[Path, OUT] = Path("union")) -> None:
    """Rank the variants of several experiments together: EXPERIMENTS are workspaces of one
    study split over variants (`gan remedies --only ...` in each, the base in all), with the
    same params apart from `variants`. Their evaluations go to OUT/metrics beside a
    params.yaml of every variant, and OUT/report holds the ranking, as the report stage
    writes it, with the decisions against the base over all of them."""
    if len(experiments) < 2:
        raise PipelineError("give two or more experiments' workspaces to rank together")
    if out.exists() and not out.is_dir():
        raise PipelineError(f"{out}: is a file; give a directory as --out")
    if out.exists() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise PipelineError(f"{out}: exists and is not a union's output; give another --out "
                            "or remove it")
    merged = merged_params(experiments)
    seeds = load_params(experiments[0] / "params.yaml").seeds
    with atomic_dir(out) as tmp:
        (tmp / "metrics").mkdir()
        (tmp / "metrics" / "reference.json").write_bytes(reference(experiments))
        gather(experiments, seeds, tmp / "metrics")
        (tmp / "params.yaml").write_text(yaml.safe_dump(merged, sort_keys=False))
        (tmp / MARKER).write_text(json.dumps(
            {"experiments": [str(e.resolve()) for e in experiments],
             "variants": list(merged["variants"]), "seeds": seeds}, indent=2) + "\n")
        write_report(load_params(tmp / "params.yaml"), tmp / "metrics", tmp / "report")
    log.info("%d variants over seeds %s ranked together: %s", len(merged["variants"]), seeds,
             out / "report" / "report.md")
