"""The report stage: mean ± std tables, charts and CSV over seeds, from synthetic per-seed
metrics; a missing seed is named with the stage to run."""

import csv
import json

import pytest
import yaml

from gan import CLASS_NAMES
from gan.errors import PipelineError
from gan.eval.tables import aggregate
from gan.layout import RunPaths
from gan.stages import report
from gan.stages.evaluate import coverage_csv
from tests.conftest import REPO
from tests.seed_metrics import RUNS, run_metrics, shares


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
