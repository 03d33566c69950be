"""A trained generator as an MLflow model (MLflow 3's LoggedModel of its training run, with
the variant, seed, remedy and dataset as its params and tags), so that
`mlflow.pyfunc.load_model(uri).predict(requests)` draws images with only this package
installed (the model's code: gan.pyfunc_generator).

A request is a row of a table: `n` images, an optional `seed` (default: the run's seed) and,
for a conditional generator, an optional `label` (a class; stacked: a mode 0..10**k - 1).
predict returns uint8 images (N, 28, 28), stacked (N, k, 28, 28), the requests' images in
order; `n: 100` with the run's seed is exactly the grid `gan sample` draws. MLflow is
imported only when tracking."""

from __future__ import annotations

import os
import tempfile
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gan.checkpoint import save_checkpoint
from gan.run_config import TrainConfig

WEIGHTS_TAG = "weights"  # generator (the final G) or generator_ema (its EMA copy)
CODE = Path(__file__).with_name("pyfunc_generator.py")


def signature(channels: int) -> Any:
    """Requests in (n; optional seed and label, doubles so a table may have gaps), images out."""
    import numpy as np
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema, TensorSpec

    shape = (-1, 28, 28) if channels == 1 else (-1, channels, 28, 28)
    return ModelSignature(
        inputs=Schema([ColSpec("long", "n"), ColSpec("double", "seed", required=False),
                       ColSpec("double", "label", required=False)]),
        outputs=Schema([TensorSpec(np.dtype(np.uint8), shape)]))


def log_generator(G: nn.Module, name: str, cfg: TrainConfig, epoch: int,
                  params: dict[str, Any], tags: dict[str, str]) -> str:
    """Log G as the model NAME (`dcgan-seed0`, `-ema` for the EMA weights) of the active run,
    the generator alone in its artifact (no discriminator, no optimizer state); its id. TAGS
    say which weights it holds (WEIGHTS_TAG: generator or generator_ema)."""
    import mlflow

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # stage logs
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.pt"
        save_checkpoint(path, {"generator": G}, extra={"config": asdict(cfg), "epoch": epoch})
        with warnings.catch_warnings():  # the requests' schema is given: no example needed
            warnings.filterwarnings("ignore", message=".*input example was not provided")
            info = mlflow.pyfunc.log_model(
                name=name, python_model=str(CODE), artifacts={"generator": str(path)},
                signature=signature(cfg.model.channels),
                pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", "fashion-gan"],
                params={k: str(v) for k, v in params.items()}, tags=tags,
                model_type="generator")
    return info.model_id


def find_generator(run_id: str) -> str | None:
    """The id of the model training run RUN_ID samples with (its EMA generator if logged)."""
    import mlflow

    experiment = mlflow.get_run(run_id).info.experiment_id
    found = mlflow.search_logged_models(experiment_ids=[experiment], output_format="list",
                                        filter_string=f"source_run_id = '{run_id}'")
    by_weights = {m.tags.get(WEIGHTS_TAG): m.model_id for m in found}
    return by_weights.get("generator_ema", by_weights.get("generator"))
