"""Stage `evaluate@<variant>-<seed>`: score the final generator (FID, class coverage, PRDC)
and every training snapshot (class shares, classes covered, KL, FID at its epoch). A stacked
run (data.stack > 1) also gets the mode metrics of Stacked Fashion-MNIST (gan.modes), over
eval.mode_n_samples samples, at the end and at every snapshot."""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path

import torch
from torch import nn

from gan import class_slug
from gan.config import Params
from gan.eval.scoring import Reference, embed, load_classifier, mlflow_metrics, score
from gan.files import write_text
from gan.generate import generate
from gan.layout import RunPaths
from gan.logged_model import find_generator
from gan.progress import Progress
from gan.remedies import variant_run_tags
from gan.run_config import TrainConfig
from gan.runtime import run_setup
from gan.tracked_data import data_used
from gan.tracking import check_tracking, run_tags, start_run
from gan.trained import load_trained, snapshots

log = logging.getLogger(__name__)

SNAPSHOT_KEYS = ("fid_snapshot", "classes_covered", "kl_to_uniform", "mean_confidence")
# The final scores that are also the generator model's metrics in MLflow.
MODEL_KEYS = ("fid", "kid", "classes_covered", "kl_to_uniform", "modes_covered", "modes_kl",
              "vendi")
MODE_KEYS = ("modes_covered", "modes_kl", "modes_covered_corrected", "modes_kl_corrected")


def score_samples(G: nn.Module, classifier: nn.Module, ref: Reference, p: Params,
                  device: torch.device, seed: int, n: int, with_prdc: bool) -> dict:
    """Score n samples of G; a stacked G also gets the mode metrics over
    eval.mode_n_samples samples (one draw serves both: the first n are the n scored)."""
    stacked = G.arch.channels > 1
    n_draw = max(n, p.eval.mode_n_samples) if stacked else n
    images, labels = generate(G, n_draw, device, seed=seed, batch_size=p.eval.batch_size)
    feats, probs = embed(classifier, images, device, p.eval.batch_size)
    return score(feats[:n], probs[:n], ref, p.eval, None if labels is None else labels[:n],
                 with_prdc=with_prdc,
                 mode_probs=probs[:p.eval.mode_n_samples] if stacked else None)


def score_snapshot(G: nn.Module, classifier: nn.Module, ref: Reference, p: Params,
                   device: torch.device, seed: int) -> dict:
    """The cheaper per-snapshot score: eval.snapshot_n_samples samples, no PRDC (the mode
    metrics of a stacked run still over eval.mode_n_samples, comparable with the final)."""
    result = score_samples(G, classifier, ref, p, device, seed, p.eval.snapshot_n_samples,
                           with_prdc=False)
    result["fid_snapshot"] = result.pop("fid")
    del result["n_samples"]
    return result


def coverage_csv(rows: list[tuple[int, dict]]) -> str:
    """One line per snapshot epoch: its training step (batches; blank for a snapshot written
    before steps were counted), the snapshot figures (and a stacked run's mode metrics) and
    each class's share."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    slugs = [class_slug(k) for k in range(10)]
    keys = SNAPSHOT_KEYS + (MODE_KEYS if rows and "modes_covered" in rows[0][1] else ())
    writer.writerow(["epoch", "step", *keys, *(f"share_{s}" for s in slugs)])
    for epoch, r in rows:
        shares = r["class_share"].values()
        step = "" if r.get("step") is None else r["step"]
        writer.writerow([epoch, step, *(f"{r[k]:.5g}" for k in keys),
                         *(f"{s:.5f}" for s in shares)])
    return buf.getvalue()


def run(variant: str, seed: int | None = None, model: Path | None = None,
        snapshot_dir: Path | None = None,
        classifier: Path = Path("data/models/classifier.pt"),
        reference: Path = Path("data/eval/reference.pt"),
        out: Path | None = None, coverage_out: Path | None = None,
        params: Path = Path("params.yaml"), track: bool = True, quiet: bool = False) -> None:
    """Score a trained VARIANT (SEED: default the first of `seeds`) and its training snapshots.

    The final generator: FID, class coverage, precision/recall/density/coverage (conditional
    variants also label accuracy and intra-class FID) to metrics/eval/VARIANT/seedSEED.json.
    Each snapshot: class shares, classes covered, KL and FID to
    metrics/coverage/VARIANT/seedSEED.csv. Both go to the MLflow run `<run> evaluation`, a
    child of the training run (a re-run replaces it), the snapshots as step metrics at their
    epochs. Samples are drawn with the run's seed.
    """
    check_tracking(track)
    p, paths, device = run_setup(params, variant, seed)
    out, coverage_out = out or paths.metrics, coverage_out or paths.coverage
    G, cfg, extra = load_trained(model or paths.model, device, paths.stage("train"))
    ref = Reference.load(reference).stacked(cfg.model.channels)
    clf = load_classifier(classifier, device)
    # Its own run, a child of the training run, open while it works (its Duration and system
    # metrics are the evaluation's); scoring again replaces it instead of logging twice.
    tags = run_tags("evaluate") | variant_run_tags(variant, cfg.seed, cfg.arch,
                                                   cfg.model.channels, p.variant(variant))
    with start_run(p.mlflow.experiment, f"{paths.run_name} evaluation", tags,
                   parent_run_id=extra["run_id"], system_metrics_s=p.mlflow.system_metrics,
                   enabled=track and extra["run_id"] is not None) as tracker:
        tracker.log_inputs([data_used(reference, "test", len(ref.labels), cfg.model.channels,
                                      "evaluation")])
        result, rows = score_run(G, cfg, extra, clf, ref, p, paths, device, variant,
                                 snapshot_dir, quiet)
        # The generator's own MLflow model: its final scores are the model's metrics too.
        model_id = tracker.call(find_generator, extra["run_id"])
        if model_id is not None:
            result["model_id"] = model_id  # for the report's registry
        write_text(out, json.dumps(result, indent=2) + "\n")
        write_text(coverage_out, coverage_csv(rows))
        for epoch, r in rows:
            tracker.log_metrics(mlflow_metrics({k: v for k, v in r.items() if k != "step"}),
                                step=epoch)
        final = mlflow_metrics({k: v for k, v in result.items()
                                if k not in ("variant", "seed", "epoch", "model_id")}, "eval/")
        headline = {k: v for k, v in final.items() if k.removeprefix("eval/") in MODEL_KEYS}
        tracker.log_metrics(headline, model_id=model_id)  # the Models tab ranks by these
        tracker.log_metrics({k: v for k, v in final.items() if k not in headline})
        tracker.log_artifact(out, "metrics")
        tracker.log_artifact(coverage_out, "metrics")
    log.info("%s: fid=%.3f classes_covered=%d kl_to_uniform=%.3f%s (%d snapshots)",
             paths.run_name, result["fid"], result["classes_covered"], result["kl_to_uniform"],
             f" modes_covered={result['modes_covered']}/{result['n_modes']}"
             if "modes_covered" in result else "", len(rows))


def score_run(G: nn.Module, cfg: TrainConfig, extra: dict, clf: nn.Module, ref: Reference,
              p: Params, paths: RunPaths, device: torch.device, variant: str,
              snapshot_dir: Path | None, quiet: bool) -> tuple[dict, list[tuple[int, dict]]]:
    """The final generator's scores and each snapshot's (epoch, scores)."""
    result = {"variant": variant, "seed": cfg.seed, "epoch": extra["epoch"]}
    result |= score_samples(G, clf, ref, p, device, cfg.seed, len(ref.labels), with_prdc=True)
    rows = []
    found = snapshots(snapshot_dir or paths.snapshots)
    with Progress(f"evaluate {paths.run_name}", len(found), unit="snapshot",
                  quiet=quiet) as progress:
        for epoch, path in found:
            G_snap, _, snap = load_trained(path, device, paths.stage("train"))
            scores = score_snapshot(G_snap, clf, ref, p, device, cfg.seed + epoch)
            rows.append((epoch, {"step": snap.get("step")} | scores))
            progress.advance(len(rows), {k: rows[-1][1][k] for k in SNAPSHOT_KEYS
                                         + MODE_KEYS[:2] if k in rows[-1][1]})
    return result, rows
