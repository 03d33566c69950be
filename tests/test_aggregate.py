"""Aggregation over seeds, on synthetic per-seed metrics whose mean and std are known."""

import csv
import json

import pytest
import yaml

from gan import CLASS_NAMES
from gan.aggregate import Stat, aggregate
from gan.errors import PipelineError
from gan.layout import RunPaths
from gan.ranking import ranked, ranking_table
from gan.stages import report
from gan.stages.evaluate import coverage_csv
from tests.conftest import REPO


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


def test_mean_and_sample_std_over_seeds():
    agg = aggregate(RUNS, min_share=0.02)
    assert agg["fid"] == Stat(12.0, 2.0, 3)  # (10, 12, 14): mean 12, sample std 2
    assert agg["classes_covered"].mean == pytest.approx(29 / 3)
    bag = agg["class_share"]["bag"]
    assert bag.mean == pytest.approx(0.07)
    assert bag.std == pytest.approx(((0.07 ** 2 + 0.06 ** 2 + 0.13 ** 2) / 2) ** 0.5)
    assert agg["class_share_corrected"]["bag"].mean == pytest.approx(0.035)
    assert agg["seeds"] == [0, 1, 2]
    assert "seed" not in agg and "epoch" not in agg


def test_dropped_counts_the_seeds_below_the_coverage_threshold():
    agg = aggregate(RUNS, min_share=0.02)
    assert agg["dropped_in"]["bag"] == 2  # 0.0 and 0.01 are below 0.02, 0.2 is not
    assert agg["dropped_in"]["trouser"] == 0
    assert aggregate(RUNS, min_share=0.005)["dropped_in"]["bag"] == 1


def test_one_seed_has_no_spread_and_missing_metrics_are_left_out():
    agg = aggregate([run_metrics(0, 10.0, 0.1, label_accuracy=0.8)], min_share=0.02)
    assert agg["fid"] == Stat(10.0, None, 1)
    assert str(agg["fid"]) == "10.000"
    mixed = aggregate([run_metrics(0, 10.0, 0.1, 0.8), run_metrics(1, 11.0, 0.1)], 0.02)
    assert "label_accuracy" not in mixed  # not measured in every seed: not averaged
    with pytest.raises(ValueError, match="at least one run"):
        aggregate([], 0.02)


def write_study(root, seeds):
    """A params file with two variants and SEEDS, per-seed metrics, and the reference JSON."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["seeds"] = seeds
    params["variants"] = {"dcgan": params["variants"]["dcgan"],
                          "cgan": params["variants"]["cgan"]}
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    metrics = root / "metrics"
    for variant, fids in (("dcgan", [10.0, 12.0, 14.0]), ("cgan", [20.0, 20.0, 23.0])):
        for seed, fid in zip(seeds, fids, strict=False):
            path = metrics / RunPaths(variant, seed).metrics.relative_to("metrics")
            path.parent.mkdir(parents=True, exist_ok=True)
            run = run_metrics(seed, fid, bag=0.01 * seed)
            path.write_text(json.dumps(run))
            coverage = metrics / RunPaths(variant, seed).coverage.relative_to("metrics")
            coverage.parent.mkdir(parents=True, exist_ok=True)
            snapshot = run | {"fid_snapshot": fid, "mean_confidence": 0.9}
            coverage.write_text(coverage_csv([(1, snapshot), (5, snapshot)]))
    test_set = {"classes_covered": 10, "kl_to_uniform": 0.0, "class_share": shares(),
                "class_share_corrected": shares()}
    held_out = {"precision": 0.9, "recall": 0.9, "density": 1.0, "coverage": 0.95}
    (metrics / "reference.json").write_text(json.dumps(
        {"test_set": test_set, "held_out": held_out, "fid_floor": 0.5, "intra_fid_floor": 1.0}))
    return root / "params.yaml", metrics


def test_report_stage_gives_mean_std_table_chart_and_csv(tmp_path):
    params, metrics = write_study(tmp_path, [0, 1, 2])
    out = tmp_path / "report"
    report.run(metrics, out, params, track=False)
    md = (out / "report.md").read_text()
    assert "| dcgan | 12.000 ± 2.000 |" in md
    assert "| cgan | 21.000 ± 1.732 |" in md
    assert "over 3 seed(s) [0, 1, 2]" in md
    # bag: 0.00, 0.01, 0.02 in seeds 0, 1, 2: dropped (< 0.02) in two of them.
    dropped = next(line for line in md.splitlines() if line.startswith("| dcgan | 0 |"))
    assert dropped.split(" | ")[CLASS_NAMES.index("bag") + 1] == "2"
    rows = {r["class"]: r for r in csv.DictReader((out / "class_share.csv").open())}
    assert float(rows["bag"]["dcgan"]) == pytest.approx(0.01)
    assert float(rows["bag"]["dcgan std"]) == pytest.approx(0.01)
    assert float(rows["bag"]["real data std"]) == 0.0
    assert (out / "class_share.png").stat().st_size > 1000


def test_report_names_the_missing_seed_and_the_stage_to_run(tmp_path):
    params, metrics = write_study(tmp_path, [0, 1, 2])
    (metrics / "eval/cgan/seed2.json").unlink()
    with pytest.raises(PipelineError, match=r"seed2.json: not found; run `dvc repro "
                                            r"evaluate@cgan-2`"):
        report.run(metrics, tmp_path / "report", params, track=False)
    assert not (tmp_path / "report").exists()  # nothing half-written
    (metrics / "eval/cgan/seed2.json").write_text(json.dumps(run_metrics(2, 23.0, 0.02)))
    (metrics / "coverage/cgan/seed1.csv").unlink()
    with pytest.raises(PipelineError, match=r"seed1.csv: not found; run `dvc repro "
                                            r"evaluate@cgan-1`"):
        report.run(metrics, tmp_path / "report", params, track=False)
    assert not (tmp_path / "report").exists()


def test_report_mlflow_aggregates():
    agg = aggregate(RUNS, min_share=0.02)
    logged = report.mlflow_aggregates("dcgan", agg)
    assert logged["dcgan/fid_mean"] == 12.0 and logged["dcgan/fid_std"] == 2.0
    assert logged["dcgan/class_share/8_bag_mean"] == pytest.approx(0.07)
    assert logged["dcgan/dropped_in/8_bag"] == 2


def test_stacked_report_leads_with_modes_and_uses_the_stacked_real_row(tmp_path):
    params_path, metrics = write_study(tmp_path, [0, 1, 2])
    params = yaml.safe_load(params_path.read_text())
    params["data"]["stack"] = 3
    params_path.write_text(yaml.safe_dump(params))
    for variant, modes in (("dcgan", [100, 200, 300]), ("cgan", [900, 950, 1000])):
        for seed, covered in zip([0, 1, 2], modes, strict=True):
            path = metrics / RunPaths(variant, seed).metrics.relative_to("metrics")
            run = json.loads(path.read_text()) | {
                "modes_covered": covered, "modes_kl": 3.0 - covered / 500, "n_modes": 1000,
                "class_share_ch0": shares(bag=0.5)}
            path.write_text(json.dumps(run))
    out = tmp_path / "report"
    with pytest.raises(PipelineError, match="no real-data row for data.stack 3; run `dvc repro "
                                            "reference`"):
        report.run(metrics, out, params_path, track=False)
    reference = json.loads((metrics / "reference.json").read_text())
    reference["stacked"] = {"stack": 3, "fid": 0.8, "modes_covered": 998, "modes_kl": 0.05,
                            "class_share": shares(), "class_share_corrected": shares()}
    (metrics / "reference.json").write_text(json.dumps(reference))
    report.run(metrics, out, params_path, track=False)
    md = (out / "report.md").read_text()
    assert "## Modes covered of 1000, and KL to uniform over them" in md
    assert md.index("Modes covered of 1000") < md.index("## Every metric")
    assert "| real data | 998 | 0.050 |" in md
    assert "| dcgan | 200.000 ± 100.000 | 2.600 ± 0.200 |" in md
    assert "FID floor (held-out validation images vs the test set, same N): 0.800" in md
    assert "channel 0 of the stacked images" in md
    assert (out / "coverage.png").stat().st_size > 1000
    logged = report.mlflow_aggregates("dcgan", aggregate(
        [json.loads((metrics / RunPaths("dcgan", s).metrics.relative_to("metrics"))
                    .read_text()) for s in (0, 1, 2)], 0.02))
    assert logged["dcgan/modes_covered_mean"] == 200 and logged["dcgan/modes_covered_std"] == 100
    assert logged["dcgan/class_share_ch0/8_bag_mean"] == 0.5


def test_ten_class_report_has_no_mode_columns(tmp_path):
    params, metrics = write_study(tmp_path, [0, 1])
    report.run(metrics, tmp_path / "report", params, track=False)
    md = (tmp_path / "report/report.md").read_text()
    assert "modes_covered" not in md and "Stacked" not in md
    assert (tmp_path / "report/coverage.png").stat().st_size > 1000


def test_ranking_orders_by_coverage_then_kl_and_puts_missing_figures_last():
    rows = {"real data": {"modes_covered": 1000, "modes_kl": 0.0},
            "a": {"modes_covered": Stat(300.0, 10.0, 3), "modes_kl": Stat(2.0, 0.1, 3)},
            "b": {"modes_covered": Stat(300.0, 50.0, 3), "modes_kl": Stat(1.5, 0.1, 3)},
            "c": {"modes_covered": Stat(800.0, 5.0, 3), "modes_kl": Stat(3.0, 0.1, 3)},
            "d": {"modes_covered": Stat(900.0, 5.0, 3)}}  # KL not measured in every seed
    assert ranked(rows, stacked=True) == ["d", "c", "b", "a"]
    rows["e"] = {"modes_kl": Stat(0.1, 0.0, 3)}
    assert ranked(rows, stacked=True)[-1] == "e"
    table = ranking_table(rows, {"c": "pack=2"}, stacked=True)
    body = [line for line in table if line.startswith("| ")][1:]
    assert [line.split(" | ")[1] for line in body] == ["d", "c", "b", "a", "e", "real data"]
    assert "| 2 | c | pack=2 | 800.000 ± 5.000 | 3.000 ± 0.100 | - | - |" in table
