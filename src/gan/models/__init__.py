"""Model registry: names map to (architecture config dataclass, module class)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from torch import nn

from gan.models.classifier import ClassifierArch, FashionClassifier

REGISTRY: dict[str, tuple[type, type[nn.Module]]] = {
    "classifier": (ClassifierArch, FashionClassifier),
}


def build_model(name: str, config: dict[str, Any]) -> nn.Module:
    """Build a registered model from its name and architecture config (as stored in checkpoints)."""
    if name not in REGISTRY:
        raise ValueError(f"unknown model {name!r}; valid names: {sorted(REGISTRY)}")
    arch_cls, model_cls = REGISTRY[name]
    return model_cls(arch_cls(**config))


def model_config(model: nn.Module) -> dict[str, Any]:
    """The architecture config a registered model was built from, as a plain dict."""
    return asdict(model.arch)


def model_name(model: nn.Module) -> str:
    for name, (_, model_cls) in REGISTRY.items():
        if type(model) is model_cls:
            return name
    raise ValueError(f"{type(model).__name__} is not a registered model; "
                     f"valid: {sorted(REGISTRY)}")
