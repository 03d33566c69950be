"""A trained generator as an MLflow model: logged by `gan train` (with its EMA copy) as a
LoggedModel of the training run, with the variant, seed, remedy and dataset; loaded in a fresh
process with `mlflow.pyfunc.load_model`, it draws `gan sample`'s images from the same seed."""

from __future__ import annotations

import subprocess
import sys

import mlflow
import numpy as np
import pytest
import torch
import yaml

from gan.generate import fixed_noise, render, requested_noise
from gan.trained import load_trained
from tests.conftest import REPO
from tests.train_runs import store_env

LOAD = """
import sys, numpy as np, pandas as pd, mlflow
model = mlflow.pyfunc.load_model(sys.argv[1])
requests = pd.DataFrame({"n": [100, 5], "seed": [None, 7], "label": [None, 3]})
np.save(sys.argv[2], model.predict(requests))
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory, prepared):
    """cgan (conditional), 2 epochs, width 8, with a generator EMA, tracked to a SQLite store."""
    tmp = tmp_path_factory.mktemp("logged")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params |= {"device": "cpu", "epochs": 2, "batch_size": 64, "seeds": [1]}
    params["gan"]["ema_decay"] = 0.9
    params["variants"]["cgan"]["width"] = 8
    (tmp / "params.yaml").write_text(yaml.safe_dump(params))
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    out = tmp / "cgan.pt"
    subprocess.run([sys.executable, "-m", "gan.cli", "train", "cgan", "--seed", "1",
                    "--data", str(prepared), "--out", str(out), "--state-dir", str(tmp / "st"),
                    "--snapshot-dir", str(tmp / "snap"), "--metrics-csv", str(tmp / "l.csv"),
                    "--params", str(tmp / "params.yaml"), "--track", "--quiet"],
                   cwd=REPO, env=store_env(uri), check=True, capture_output=True)
    return tmp, uri, out


def test_training_logs_its_generators_as_models_of_the_run(trained):
    _, uri, out = trained
    client = mlflow.MlflowClient(uri)
    _, _, extra = load_trained(out, torch.device("cpu"), "train@cgan-1")
    experiment = client.get_experiment_by_name("fashion-gan").experiment_id
    models = {m.name: m for m in client.search_logged_models([experiment])}
    assert set(models) == {"cgan-seed1", "cgan-seed1-ema"}
    assert models["cgan-seed1-ema"].tags["weights"] == "generator_ema"
    assert models["cgan-seed1"].tags["weights"] == "generator"
    for model in models.values():
        assert model.source_run_id == extra["run_id"]
        assert model.params["variant"] == "cgan" and model.params["seed"] == "1"
        assert model.params["dataset"] == "fashion-mnist" and model.params["remedy"] == "base"
        assert model.tags["variant"] == "cgan" and model.model_type == "generator"


def test_a_logged_generator_loads_in_a_fresh_process_and_draws_gan_samples_images(
        trained):
    tmp, uri, out = trained
    client = mlflow.MlflowClient(uri)
    experiment = client.get_experiment_by_name("fashion-gan").experiment_id
    (ema,) = [m for m in client.search_logged_models([experiment])
              if m.tags["weights"] == "generator_ema"]
    drawn = tmp / "drawn.npy"
    subprocess.run([sys.executable, "-c", LOAD, f"models:/{ema.model_id}", str(drawn)],
                   env=store_env(uri), check=True, capture_output=True, cwd=tmp)
    images = np.load(drawn)
    # What `gan sample` draws: the sampling generator (the EMA one) on the grid's noise.
    G, cfg, _ = load_trained(out, torch.device("cpu"), "train@cgan-1")
    grid = render(G, *fixed_noise(cfg.model, cfg.seed, torch.device("cpu")))
    assert images.dtype == np.uint8 and images.shape == (105, 28, 28)
    assert np.array_equal(images[:100], grid.numpy())
    dresses = render(G, *requested_noise(cfg.model, 5, 7, torch.device("cpu"), label=3))
    assert np.array_equal(images[100:], dresses.numpy())
