"""End-to-end: `dvc repro` of the real pipeline in a temporary git copy, on a small config."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from gan.layout import RunPaths
from tests.conftest import REPO
from tests.pipeline_copy import RUNS, SEEDS, VARIANTS, copy_repo, merge, pipeline_env, run
from tests.stacked import stack_images

pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def workspace(tmp_path_factory, mirror_dir):
    """A git copy of the tracked tree with small params, built by `dvc repro`."""
    env = pipeline_env(mirror_dir)
    root = copy_repo(tmp_path_factory.mktemp("e2e") / "repo", env)
    run(["dvc", "repro"], root, env)
    return root, env


@contextmanager
def params_restored(root: Path, env: dict):
    """Puts params.yaml, dvc.lock (untracked in the copy: an experiment rewrites it) and the
    outputs they name back as they were, whatever the test did."""
    lock = (root / "dvc.lock").read_text()
    try:
        yield
    finally:
        run(["git", "checkout", "params.yaml"], root, env)
        (root / "dvc.lock").write_text(lock)
        run(["dvc", "checkout", "-f"], root, env)


def test_repro_builds_everything(workspace):
    root, _ = workspace
    assert (root / "data/raw/train-images-idx3-ubyte.gz").is_file()
    assert (root / "data/prepared/fashion_mnist.pt").is_file()
    assert (root / "data/models/classifier.pt").is_file()
    metrics = json.loads((root / "metrics/classifier.json").read_text())
    assert 0.5 < metrics["test_accuracy"] <= 1.0
    per_class = metrics["per_class_accuracy"]
    assert len(per_class) == 10 and "ankle boot" in per_class
    for r in RUNS:  # every (variant, seed) under <kind>/<variant>/seed<k>
        assert (root / r.model).is_file()
        assert (root / r.checkpoints / "last.pt").is_file()
        rows = (root / r.losses).read_text().splitlines()
        assert rows[0] == "epoch,d_loss_real,d_loss_fake,g_loss,d_real,d_fake,d_penalty"
        assert len(rows) == 3
        grid = Image.open(root / r.samples / "grid.png")
        assert grid.width >= 10 * 28 * 3
        gif = Image.open(root / r.samples / "training.gif")
        assert gif.n_frames == 3  # before training, then one per epoch
    # Each seed trains its own model.
    g0, g1 = (_generator_weights(root / RunPaths("dcgan", s).model) for s in SEEDS)
    assert not all(torch.equal(g0[k], g1[k]) for k in g0)


def test_evaluation_metrics_for_every_variant(workspace):
    root, env = workspace
    reference = json.loads((root / "metrics/reference.json").read_text())
    # The floor comes from the 500 held-out validation images, so N is 500 everywhere.
    assert reference["n_samples"] == 500 and reference["held_out"]["n_samples"] == 500
    assert reference["fid_floor"] == reference["held_out"]["fid"] > 0
    # Per-class FID needs more images of the class than feature dimensions. This classifier
    # has 32 (SMALL), and the 500 held-out images (seed 0) hold 41 to 63 of each class: every
    # class has its FID, and the floor is their mean, never None here.
    class_fid = reference["held_out"]["class_fid"]
    assert len(class_fid) == 10
    assert reference["intra_fid_floor"] == pytest.approx(np.mean(list(class_fid.values())))
    assert reference["intra_fid_floor"] > 0
    assert reference["test_set"]["classes_covered"] == 10
    assert 0 <= reference["test_set"]["unsure_share"] <= 1
    assert len(reference["test_set"]["class_share_corrected"]) == 10
    for r in RUNS:
        name = r.variant
        m = json.loads((root / r.metrics).read_text())
        assert m["seed"] == r.seed and m["n_samples"] == 500 and m["fid"] > reference["fid_floor"]
        assert {"unsure_share", "kl_to_uniform_corrected", "class_share_corrected"} <= set(m)
        assert 0 <= m["kl_to_uniform"] <= 2.31 and 1 <= m["classes_covered"] <= 10
        assert {"precision", "recall", "density", "coverage"} <= set(m)
        assert ("label_accuracy" in m) == name.startswith("cgan")
        coverage = (root / r.coverage).read_text().splitlines()
        assert coverage[0].startswith("epoch,step,fid_snapshot,classes_covered,kl_to_uniform")
        assert [line.split(",")[0] for line in coverage[1:]] == ["1", "2"]  # a snapshot each
        steps = [int(line.split(",")[1]) for line in coverage[1:]]  # batches trained by then
        assert steps[1] == 2 * steps[0] > 0
    report = (root / "metrics/report/report.md").read_text()
    assert "| real data |" in report and "| dcgan_bn | " in report
    assert "over 2 seed(s) [0, 1]" in report and "±" in report
    assert "Seeds in which each class was dropped" in report
    fids = [json.loads((root / RunPaths("dcgan", s).metrics).read_text())["fid"] for s in SEEDS]
    mean, std = np.mean(fids), np.std(fids, ddof=1)
    assert f"| dcgan | {mean:.3f} ± {std:.3f} |" in report
    assert (root / "metrics/report/class_share.png").stat().st_size > 1000
    shown = run(["dvc", "exp", "show", "--json"], root, env).stdout
    assert "classes_covered" in shown and "metrics/eval/dcgan/seed1.json" in shown


def test_score_any_images_reports_exactly_their_classes(workspace, tmp_path):
    root, env = workspace
    test = torch.load(root / "data/prepared/fashion_mnist.pt", weights_only=True)
    keep = (test["test_labels"] == 1) | (test["test_labels"] == 8)  # trousers and bags
    np.save(tmp_path / "some.npy", test["test_images"][keep].numpy())
    # This small classifier misreads a few percent of any class, so the covered threshold is
    # raised from 0.02 to 0.1 here; the pipeline's full classifier needs no such allowance.
    params = merge(yaml.safe_load((root / "params.yaml").read_text()),
                   {"eval": {"coverage_min_share": 0.1}})
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    out = run(["gan", "score", str(tmp_path / "some.npy"), "--no-prdc-metrics",
               "--params", str(tmp_path / "params.yaml")], root, env)
    result = json.loads(out.stdout)
    covered = {c for c, share in result["class_share"].items() if share >= 0.1}
    assert covered == {"trouser", "bag"} and result["classes_covered"] == 2
    bad = run(["gan", "score", str(tmp_path / "none.npy")], root, env, check=False)
    assert bad.returncode == 2 and "none.npy: not found" in bad.stderr


def test_plots_show_renders_loss_curves(workspace):
    root, env = workspace
    run(["dvc", "plots", "show", "-o", "plots_html"], root, env)
    html = (root / "plots_html/index.html").read_text()
    assert "g_loss" in html and "cgan" in html


def test_second_repro_does_nothing(workspace):
    root, env = workspace
    out = run(["dvc", "repro"], root, env).stdout
    assert "Running stage" not in out
    assert json.loads(run(["dvc", "status", "--json"], root, env).stdout) == {}


def test_metrics_show_lists_accuracy(workspace):
    root, env = workspace
    shown = json.loads(run(["dvc", "metrics", "show", "--json"], root, env).stdout)
    assert "test_accuracy" in json.dumps(shown)


def test_mlflow_has_one_run_per_variant_and_seed_with_curves_and_images(workspace):
    root, _ = workspace
    with sqlite3.connect(root / "mlflow.db") as db:
        runs = dict(db.execute("select name, run_uuid from runs "
                               "where name not in ('classifier', 'report')"))
        # "cgan seed1" (training) and its child "cgan seed1 evaluation", ...
        assert sorted(runs) == sorted(n for r in RUNS for n in (r.run_name,
                                                                f"{r.run_name} evaluation"))
        cgan, cgan_eval = runs["cgan seed1"], runs["cgan seed1 evaluation"]
        parent = dict(db.execute("select value, run_uuid from tags where "
                                 "key='mlflow.parentRunId'"))
        assert parent[cgan] == cgan_eval
        steps = db.execute("select step from metrics where run_uuid=? and key='g_loss' "
                           "order by step", (cgan,)).fetchall()
        tags = dict(db.execute("select key, value from tags where run_uuid=?", (cgan,)))
        eval_tags = dict(db.execute("select key, value from tags where run_uuid=?",
                                    (cgan_eval,)))
        params = dict(db.execute("select key, value from params where run_uuid=?", (cgan,)))
        shares = db.execute("select step from metrics where run_uuid=? and key="
                            "'class_share/5_sandal' order by step",
                            (runs["dcgan seed0 evaluation"],))
        final = dict(db.execute("select key, value from metrics where run_uuid=? and "
                                "key like 'eval/%'", (cgan_eval,)))
        (train_end,) = db.execute("select end_time from runs where run_uuid=?",
                                  (cgan,)).fetchone()
        (eval_start,) = db.execute("select start_time from runs where run_uuid=?",
                                   (cgan_eval,)).fetchone()
        (report,) = db.execute("select run_uuid from runs where name='report'").fetchone()
        aggregates = dict(db.execute("select key, value from metrics where run_uuid=?",
                                     (report,)))
    assert [s for (s,) in steps] == [1, 2]
    assert [s for (s,) in shares] == [1, 2]  # in-training coverage, one point per epoch
    assert {"eval/fid", "eval/classes_covered", "eval/label_accuracy"} <= set(final)
    assert tags["variant"] == "cgan" and tags["seed"] == "1" and tags["architecture"] == "dcgan"
    assert eval_tags["variant"] == "cgan" and eval_tags["stage"] == "evaluate"
    assert train_end <= eval_start  # the training run's Duration is the training's
    assert params["variant"] == "cgan" and params["seed"] == "1"
    fids = [json.loads((root / RunPaths("cgan", s).metrics).read_text())["fid"] for s in SEEDS]
    assert aggregates["cgan/fid_mean"] == pytest.approx(np.mean(fids))
    assert aggregates["cgan/fid_std"] == pytest.approx(np.std(fids, ddof=1))
    assert "cgan/dropped_in/8_bag" in aggregates and "real_data/fid" in aggregates
    artifacts = root / "mlartifacts"
    for name in ("grid.png", "training.gif"):
        assert (artifacts / cgan / "artifacts/samples" / name).is_file()


def test_runs_carry_models_data_system_metrics_and_their_work_s_duration(workspace):
    """Read back through MlflowClient (tests/mlflow_readback.py, in its own process: this one
    keeps no MLflow store open on the workspace's database): models, the registry, datasets,
    system metrics, durations and the experiment kind."""
    root, env = workspace
    check = subprocess.run([sys.executable, "-m", "tests.mlflow_readback", str(root)],
                           cwd=REPO, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr[-3000:]


def mlflow_runs(root: Path, name_like: str) -> list[tuple]:
    """(run id, name, start, end, lifecycle) of the runs whose name is LIKE the pattern."""
    with sqlite3.connect(root / "mlflow.db") as db:
        return db.execute("select run_uuid, name, start_time, end_time, lifecycle_stage from "
                          "runs where name like ? order by start_time", (name_like,)).fetchall()


def test_scoring_again_replaces_the_evaluation_and_keeps_the_training_duration(workspace):
    """`gan evaluate` after a metric fix, `gan sample` again: one live evaluation run per
    training run, each snapshot step logged once; the training run's end time untouched."""
    root, env = workspace
    (train,) = mlflow_runs(root, "dcgan seed0")
    (first,) = mlflow_runs(root, "dcgan seed0 evaluation")
    try:
        run(["gan", "evaluate", "dcgan", "--seed", "0", "--quiet"], root, env)
        run(["gan", "sample", "dcgan", "--seed", "0"], root, env)
        evaluations = mlflow_runs(root, "dcgan seed0 evaluation")
        assert [r[4] for r in evaluations] == ["deleted", "active"]
        assert evaluations[0][0] == first[0]
        with sqlite3.connect(root / "mlflow.db") as db:
            steps = db.execute("select step from metrics where run_uuid=? and "
                               "key='fid_snapshot' order by step",
                               (evaluations[1][0],)).fetchall()
        assert [s for (s,) in steps] == [1, 2]
        assert mlflow_runs(root, "dcgan seed0") == [train]  # end time as training left it
    finally:
        run(["dvc", "checkout", "-f"], root, env)


def test_mlflow_run_has_params_and_epoch_metrics(workspace):
    root, _ = workspace
    with sqlite3.connect(root / "mlflow.db") as db:
        (run_id,) = db.execute("select run_uuid from runs where name='classifier'").fetchone()
        params = dict(db.execute("select key, value from params where run_uuid=?", (run_id,)))
        steps = db.execute("select step from metrics where run_uuid=? and key='val_accuracy' "
                           "order by step", (run_id,)).fetchall()
        tags = dict(db.execute("select key, value from tags where run_uuid=?", (run_id,)))
    assert params["classifier.epochs"] == "3" and params["lr_d"] == "0.0002"
    assert [s for (s,) in steps] == [1, 2, 3]
    assert tags["stage"] == "train_classifier" and len(tags["git_commit"]) == 40


def test_metric_edit_reruns_evaluation_not_training(workspace):
    root, env = workspace
    metrics = root / "src/gan/eval/metrics.py"
    original = metrics.read_text()
    try:
        metrics.write_text(original + "\n# an edit of the metric code\n")
        status = json.loads(run(["dvc", "status", "--json"], root, env).stdout)
        touched = {stage for stage, changes in status.items()
                   if "src/gan/eval/metrics.py" in json.dumps(changes)}
        assert {f"evaluate@{r.variant}-{r.seed}" for r in RUNS} | {"reference"} <= touched
        assert not [stage for stage in touched if stage.startswith("train")]
    finally:
        metrics.write_text(original)


def exp_rows(root: Path, env: dict) -> list[tuple[str | None, dict]]:
    """(name, params.yaml values) of every row of `dvc exp show --json` that has params."""
    rows = []

    def walk(node):
        if isinstance(node, dict):
            params = node.get("data", {}).get("params", {}).get("params.yaml", {}).get("data")
            if params:
                rows.append((node.get("name"), params))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(run(["dvc", "exp", "show", "--json"], root, env).stdout))
    return rows


def test_queued_experiments_run_in_parallel_into_one_store_and_a_failure_stops_none(workspace):
    """Two queued experiments on two workers at once. lr_d=1e30 makes the losses non-finite
    within the first epoch: that one fails (Failed in `dvc queue status`, FAILED in MLflow, its
    log reachable); the other finishes, every stage run of it in the one store, trained with
    its own rate (read back from the model file after `dvc exp apply`). Two variants and one
    seed keep it short: the queue snapshots the workspace's params.yaml with the others removed."""
    root, env = workspace
    kept = ("dcgan", "dcgan_bn")
    good, seed0 = {1.5e-4}, [r for r in RUNS if r.seed == 0 and r.variant in kept]
    with params_restored(root, env):
        params = yaml.safe_load((root / "params.yaml").read_text())
        params["variants"] = {v: params["variants"][v] for v in kept}
        (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        try:
            proc = run(["gan", "queue", "lr_d=1e30,1.5e-4", "seeds=[0]", "--jobs", "2",
                        "--wait", "--poll-s", "2"], root, env, check=False)
            assert proc.returncode == 1, proc.stderr  # --wait reports that one failed
            rows = [line.split() for line in run(["dvc", "queue", "status"], root,
                                                  env).stdout.splitlines()]
            failed = [r[1] for r in rows if r and r[-1] == "Failed"]
            assert len(failed) == 1
            logs = run(["dvc", "queue", "logs", failed[0]], root, env, check=False)
            assert "non-finite loss" in logs.stdout + logs.stderr
            lr_of = {name: params["lr_d"] for name, params in exp_rows(root, env)
                     if name and params.get("lr_d") in good}
            assert sorted(lr_of.values()) == sorted(good)
            with sqlite3.connect(root / "mlflow.db") as db:
                rows = db.execute("select t.value, r.name, r.status from runs r join tags t on "
                                  "t.run_uuid = r.run_uuid and t.key = 'dvc_exp_name'").fetchall()
            for name in lr_of:  # every stage run of every finished experiment, in the one store
                runs = sorted(run_name for exp, run_name, _ in rows if exp == name)
                stage_runs = (*(n for r in seed0 for n in (r.run_name, f"{r.run_name} evaluation")),
                              "report")
                expected = [f"{r} ({name})" for r in stage_runs] + [name]  # + its parent
                assert runs == sorted(expected), (name, runs)
            assert all(status == "FINISHED" for exp, _, status in rows if exp in lr_of)
            # --wait ends with the grid's table: every point, the failed one last
            (table,) = (root / "metrics/grids").glob("queue-*.md")
            lines = [ln for ln in table.read_text().splitlines() if ln.startswith("| ")]
            assert len(lines) == 1 + len(seed0) + 1  # header, the variants, the failed
            assert lines[-1].startswith("| ") and "| 1e30 | [0] | - | 0 |" in lines[-1]
            assert {status for exp, _, status in rows if exp == failed[0]} == {"FAILED"}
            assert not list((root / ".dvc/tmp").rglob("mlflow.db"))
            name, lr = next(iter(lr_of.items()))
            run(["dvc", "exp", "apply", name], root, env)
            for r in seed0:  # retrained: the rate its optimizer used, from the model file
                extra = torch.load(root / r.model, weights_only=True)["extra"]
                assert extra["opt_d"]["param_groups"][0]["lr"] == pytest.approx(lr)
                assert extra["opt_g"]["param_groups"][0]["lr"] == pytest.approx(2e-4)
        finally:
            run(["dvc", "queue", "stop"], root, env, check=False)


def test_bad_param_fails_before_work_and_leaves_no_output(workspace):
    root, env = workspace
    original = (root / "params.yaml").read_text()
    bad = merge(yaml.safe_load(original), {"classifier": {"epochs": -2}})
    (root / "params.yaml").write_text(yaml.safe_dump(bad, sort_keys=False))
    try:
        proc = run(["dvc", "repro", "train_classifier"], root, env, check=False)
        assert proc.returncode != 0
        assert "'classifier.epochs' must be >= 1, got -2" in proc.stdout + proc.stderr
        assert "Traceback" not in proc.stdout + proc.stderr
        assert not list((root / "data/models").glob(".*tmp"))
    finally:
        (root / "params.yaml").write_text(original)
        run(["dvc", "checkout", "-f"], root, env)


def test_corrupt_mirror_gives_clear_error_and_no_partial_download(workspace, tmp_path):
    root, env = workspace
    mirror = tmp_path / "mirror"
    shutil.copytree(env["FASHION_MNIST_MIRROR"], mirror)
    (mirror / "t10k-images-idx3-ubyte.gz").write_bytes(b"not the real file")
    bad_env = env | {"FASHION_MNIST_MIRROR": str(mirror)}
    try:
        proc = run(["dvc", "repro", "-f", "download"], root, bad_env, check=False)
        text = proc.stdout + proc.stderr
        assert proc.returncode != 0
        assert "t10k-images-idx3-ubyte.gz" in text and "MD5 mismatch" in text
        assert "fashion-mnist.s3-website" in text  # the unreachable public mirror is listed too
        assert not (root / "data/raw").exists()
        assert not list((root / "data").glob(".raw.*"))
    finally:
        run(["dvc", "checkout", "-f"], root, env)


def _generator_weights(path: Path) -> dict:
    return torch.load(path, weights_only=True)["models"]["generator"]["state_dict"]


def test_killed_training_resumes_and_matches_uninterrupted_run(workspace):
    root, env = workspace
    original = (root / "params.yaml").read_text()
    longer = merge(yaml.safe_load(original), {"variants": {"dcgan": {"epochs": 10}}})
    (root / "params.yaml").write_text(yaml.safe_dump(longer, sort_keys=False))
    paths = RunPaths("dcgan", 0)
    last = root / paths.checkpoints / "last.pt"
    try:
        proc = subprocess.Popen(["dvc", "repro", "train@dcgan-0"], cwd=root, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        deadline = time.time() + 120
        epoch = 0
        while time.time() < deadline and proc.poll() is None:
            time.sleep(0.2)
            try:
                extra = torch.load(last, weights_only=True)["extra"]
            except Exception:  # not there yet, or from the previous 2-epoch config
                continue
            if extra["config"]["epochs"] == 10 and extra["epoch"] >= 2:
                epoch = extra["epoch"]
                break
        os.killpg(proc.pid, signal.SIGKILL)  # dvc and the training process with it
        proc.wait()
        assert 2 <= epoch < 10, "training finished before it could be interrupted"
        resumed = run(["dvc", "repro", "train@dcgan-0"], root, env)
        assert "resuming after epoch" in resumed.stderr + resumed.stdout
        weights_resumed = _generator_weights(root / paths.model)
        history = (root / paths.losses).read_text().splitlines()
        assert len(history) == 11  # header + 10 epochs, none repeated
        shutil.rmtree(root / paths.checkpoints)
        run(["dvc", "repro", "-f", "--single-item", "train@dcgan-0"], root, env)
        weights_fresh = _generator_weights(root / paths.model)
        assert all(torch.equal(weights_resumed[k], weights_fresh[k]) for k in weights_fresh)
    finally:
        (root / "params.yaml").write_text(original)
        run(["dvc", "checkout", "-f"], root, env)


def test_stacked_experiment_gives_the_stacked_report_beside_the_ten_class_one(workspace, tmp_path):
    """`dvc exp run -S data.stack=3` (one seed, two variants, and a changed rate): each
    variant trains on Stacked Fashion-MNIST with the experiment's params; evaluation, report,
    MLflow and `dvc exp show` carry the mode metrics; `gan score` takes 3 channels."""
    root, env = workspace
    kept = ("dcgan", "cgan")  # one unconditional, one conditional (mode accuracy)
    dropped = [a for v in VARIANTS if v not in kept for a in ("-S", f"~variants.{v}")]
    with params_restored(root, env):
        run(["dvc", "exp", "run", "--name", "stacked", "-S", "data.stack=3", "-S", "seeds=[0]",
             "-S", "lr_d=1e-4", *dropped], root, env)
        for r in (r for r in RUNS if r.seed == 0 and r.variant in kept):
            extra = torch.load(root / r.model, weights_only=True)["extra"]
            assert extra["config"]["model"]["channels"] == 3
            assert extra["opt_d"]["param_groups"][0]["lr"] == pytest.approx(1e-4)
            assert extra["opt_g"]["param_groups"][0]["lr"] == pytest.approx(2e-4)
            m = json.loads((root / r.metrics).read_text())
            assert m["n_modes"] == 1000 and m["mode_n_samples"] == 2000
            assert 1 <= m["modes_covered"] <= 1000 and 0 <= m["modes_kl"] <= np.log(1000) + 1e-9
            assert {"modes_covered_corrected", "modes_kl_corrected", "class_share_ch2"} <= set(m)
            assert ("mode_accuracy" in m) == r.variant.startswith("cgan")
            header = (root / r.coverage).read_text().splitlines()[0]
            assert "modes_covered,modes_kl" in header
            grid = Image.open(root / r.samples / "grid.png")
            assert grid.mode == "RGB"  # the three channels drawn as colours
        reference = json.loads((root / "metrics/reference.json").read_text())
        assert reference["stacked"]["stack"] == 3 and reference["stacked"]["modes_covered"] > 100
        report = (root / "metrics/report/report.md").read_text()
        assert "## Modes covered of 1000, and KL to uniform over them" in report
        real = reference["stacked"]
        assert f"| real data | {real['modes_covered']} | {real['modes_kl']:.3f} |" in report
        with sqlite3.connect(root / "mlflow.db") as db:
            (run_id,) = db.execute(
                "select r.run_uuid from runs r join tags t on t.run_uuid = r.run_uuid "
                "where r.name = 'dcgan seed0 evaluation (stacked)' and t.key = 'stack' "
                "and t.value = '3'"
            ).fetchone()
            steps = db.execute("select step from metrics where run_uuid=? and "
                               "key='modes_covered' order by step", (run_id,)).fetchall()
            final = dict(db.execute("select key, value from metrics where run_uuid=? and "
                                    "key like 'eval/modes%'", (run_id,)))
        assert [s for (s,) in steps] == [1, 2]  # modes over training, one point per snapshot
        assert {"eval/modes_covered", "eval/modes_kl"} <= set(final)
        stacks = {params["data"]["stack"] for _, params in exp_rows(root, env)}
        assert stacks == {1, 3}  # the 10-class workspace and the stacked experiment, side by side
        test = torch.load(root / "data/prepared/fashion_mnist.pt", weights_only=True)
        images, labels = stack_images(test["test_images"], test["test_labels"], 300, 3,
                                      torch.Generator().manual_seed(0))
        np.savez(tmp_path / "stacked.npz", images=images.numpy(), labels=labels.numpy())
        out = run(["gan", "score", str(tmp_path / "stacked.npz"), "--no-prdc-metrics"], root,
                  env)
        scored = json.loads(out.stdout)
        assert scored["n_modes"] == 1000 and scored["mode_n_samples"] == 300
        assert scored["label_accuracy"] > 0.5 and "mode_accuracy" in scored
        np.save(tmp_path / "four.npy", np.zeros((5, 4, 28, 28), dtype=np.uint8))
        bad = run(["gan", "score", str(tmp_path / "four.npy")], root, env, check=False)
        assert bad.returncode == 2 and "shape (5, 4, 28, 28)" in bad.stderr
        assert "Traceback" not in bad.stderr


def test_remedies_study_ranks_the_variants_and_draws_the_pictures(workspace):
    """`gan remedies` on Stacked Fashion-MNIST, the base and one remedy at the tiny config:
    the report ranks them, draws FID against KL and the class-share heat map, and the MLflow
    runs carry the remedy tags (every remedy's label: tests/test_remedies.py)."""
    root, env = workspace
    only = ["dcgan", "pac2"]
    with params_restored(root, env):
        run(["gan", "remedies", "--stack", "3", *(a for v in only for a in ("--only", v)),
             *(a for v in only for a in ("-S", f"variants.{v}.width=8")), "-S", "seeds=[0]"],
            root, env)
        report = (root / "metrics/report/report.md").read_text()
        ranking = report[report.index("## Ranking"):report.index("## Modes covered")]
        rows = [line.split(" | ") for line in ranking.splitlines() if line[:3] in
                {f"| {k}" for k in range(1, 10)}]
        assert sorted(r[1] for r in rows) == sorted(only)
        remedy = {r[1]: r[2] for r in rows}
        assert remedy["dcgan"] == "base" and remedy["pac2"] == "pack=2"
        covered = [float(r[3].split(" ± ")[0]) for r in rows]
        assert covered == sorted(covered, reverse=True)  # best first
        for name in ("fid_kl.png", "share_heatmap.png", "convergence.png"):
            assert min(Image.open(root / "metrics/report" / name).size) > 300
        params = yaml.safe_load((root / "params.yaml").read_text())
        assert sorted(params["variants"]) == sorted(only) and params["data"]["stack"] == 3
        with sqlite3.connect(root / "mlflow.db") as db:
            tags = db.execute(
                "select t.value from tags t join tags v on v.run_uuid = t.run_uuid where "
                "v.key = 'variant' and v.value = 'pac2' and t.key = 'remedy.pack'").fetchall()
        assert tags and {v for (v,) in tags} == {"2"}
