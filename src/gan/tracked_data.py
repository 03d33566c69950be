"""The data a run used, as an MLflow dataset input (the runs table's Dataset column and its
filters): which data (10 classes or Stacked Fashion-MNIST), which split, how many images and
the digest of the artifact it was read from (the prepared data, or the reference statistics
of the test split for an evaluation). MLflow is imported only to log it (`--no-track` runs
need no MLflow)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gan import CLASS_NAMES

CONTEXT_TAG = "mlflow.data.context"


def dataset_name(stack: int) -> str:
    """`fashion-mnist` (10 classes) or `stacked-fashion-mnist-x3` (10**3 modes)."""
    return "fashion-mnist" if stack == 1 else f"stacked-fashion-mnist-x{stack}"


def file_digest(path: Path) -> str:
    """MD5 of the artifact, as `dvc.lock` records it for a DVC output."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "md5").hexdigest()


@dataclass(frozen=True)
class DataUsed:
    """One split as a stage read it; `context`: training, validation or evaluation."""

    name: str
    digest: str
    path: Path
    context: str
    profile: dict[str, Any]

    def entity(self) -> Any:
        """MLflow's DatasetInput for `MlflowClient.log_inputs`."""
        from mlflow.entities import Dataset, DatasetInput, InputTag

        source = json.dumps({"uri": self.path.resolve().as_uri()})
        dataset = Dataset(self.name, self.digest, "local", source,
                          profile=json.dumps(self.profile))
        return DatasetInput(dataset, [InputTag(CONTEXT_TAG, self.context)])


def data_used(path: Path, split: str, n_images: int, stack: int, context: str) -> DataUsed:
    """The `split` of the artifact at `path` (n_images of it, `stack` images per sample)."""
    profile = {"split": split, "n_images": n_images, "stack": stack, "stacked": stack > 1,
               "modes": len(CLASS_NAMES) ** stack, "image_shape": [stack, 28, 28]}
    return DataUsed(f"{dataset_name(stack)}-{split}", file_digest(path), Path(path), context,
                    profile)
