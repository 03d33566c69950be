"""The code of a logged generator model (MLflow's models from code): MLflow copies this file
into the model and runs it at load, so a model loads with no pickled objects, only this
package installed. What a request is and what predict returns: gan.logged_model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import torch
from mlflow.models import set_model

from gan.generate import render, requested_noise
from gan.trained import load_trained


class GeneratorModel(mlflow.pyfunc.PythonModel):
    """A generator checkpoint (`generator` artifact) as a pyfunc model."""

    def load_context(self, context: Any) -> None:
        path = Path(context.artifacts["generator"])
        self.G, self.cfg, _ = load_trained(path, torch.device("cpu"), "the training stage")

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None
                ) -> np.ndarray:
        batches = []
        for request in model_input.to_dict("records"):
            seed = _int_or(request.get("seed"), self.cfg.seed)
            label = _int_or(request.get("label"), None)
            z, labels = requested_noise(self.cfg.model, int(request["n"]), seed,
                                        torch.device("cpu"), label)
            batches.append(render(self.G, z, labels))
        return torch.cat(batches).numpy()


def _int_or(value: Any, default: int | None) -> int | None:
    """A request's optional integer column: absent or NaN (a table with gaps) is the default."""
    return default if value is None or pd.isna(value) else int(value)


set_model(GeneratorModel())
