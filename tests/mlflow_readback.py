"""The e2e workspace's MLflow store read back through MlflowClient, in a process of its own
(run by tests/test_pipeline_e2e.py): each training run's generator is a LoggedModel whose
metrics are its evaluation's, the report's best one is registered as `best` and loads by its
alias; every run names its data; classifier and training runs have system metrics; an
evaluation lasts as long as its work; the experiment opens in the training view."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import mlflow
import pandas as pd

from gan.layout import RunPaths
from tests.pipeline_copy import RUNS


def check(root: Path) -> None:
    client = mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("fashion-gan")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    trainings = {runs[r.run_name].info.run_id for r in RUNS}  # `dvc repro`'s, not later ones
    models = [m for m in client.search_logged_models([experiment.experiment_id])
              if m.source_run_id in trainings]
    assert sorted((m.params["variant"], m.params["seed"]) for m in models) == sorted(
        (r.variant, str(r.seed)) for r in RUNS)
    cgan = next(m for m in models if m.source_run_id == runs["cgan seed1"].info.run_id)
    fid = {m.key: m for m in cgan.metrics}["eval/fid"]
    assert fid.run_id == runs["cgan seed1 evaluation"].info.run_id
    assert fid.value == json.loads((root / RunPaths("cgan", 1).metrics).read_text())["fid"]
    best = client.get_model_version_by_alias("fashion-mnist-generator", "best")
    report = (root / "metrics/report/report.md").read_text()
    first = next(line for line in report.splitlines() if line.startswith("| 1 |"))
    assert f"| {best.tags['variant']} |" in first  # the ranking's first variant
    assert best.source in {f"models:/{m.model_id}" for m in models}
    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")  # the README's one line
    try:
        G = mlflow.pyfunc.load_model("models:/fashion-mnist-generator@best")
        assert G.predict(pd.DataFrame({"n": [3]})).shape[0] == 3
    finally:
        mlflow.set_tracking_uri(before)

    digest = hashlib.md5((root / "data/prepared/fashion_mnist.pt").read_bytes()).hexdigest()
    (used,) = runs["dcgan seed0"].inputs.dataset_inputs
    assert (used.dataset.name, used.dataset.digest) == ("fashion-mnist-train", digest)
    assert json.loads(used.dataset.profile)["n_images"] == 2000
    (scored,) = runs["dcgan seed0 evaluation"].inputs.dataset_inputs
    assert scored.dataset.name == "fashion-mnist-test"
    assert {t.key: t.value for t in scored.tags} == {"mlflow.data.context": "evaluation"}
    contexts = {t.value for d in runs["classifier"].inputs.dataset_inputs for t in d.tags}
    assert contexts == {"training", "validation", "evaluation"}
    for name in ("classifier", "dcgan seed0"):  # runs of seconds: sampled every second
        assert "system/cpu_utilization_percentage" in runs[name].data.metrics, name
    info = runs["dcgan seed0 evaluation"].info  # open while it scores: about 0.8 s here
    assert info.end_time - info.start_time > 300  # (opened after the work, it read 0.05 s)


if __name__ == "__main__":
    check(Path(sys.argv[1]))
