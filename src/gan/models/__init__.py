"""Model registry: a checkpoint stores each model's registered name and architecture config.

Model modules register their classes when imported (`@register(name, arch_class)`). Code that
loads a checkpoint imports the model modules it expects, so a stage's imports are exactly the
code it runs, and its DVC deps follow from its imports alone (see `gan.deps`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from torch import nn

from gan.registry import lookup

# name -> (model class, architecture config class)
REGISTRY: dict[str, tuple[type[nn.Module], type]] = {}


def register(name: str, arch_class: type) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Class decorator: checkpoints store this model as `name` with an `arch_class` config."""

    def add(cls: type[nn.Module]) -> type[nn.Module]:
        REGISTRY[name] = (cls, arch_class)
        return cls

    return add


def build_model(name: str, config: dict[str, Any]) -> nn.Module:
    """Build a registered model from its name and architecture config (as stored in checkpoints)."""
    cls, arch_class = lookup(REGISTRY, name, "model")
    return cls(arch_class(**config))


def model_config(model: nn.Module) -> dict[str, Any]:
    """The architecture config a registered model was built from, as a plain dict."""
    return asdict(model.arch)


def model_name(model: nn.Module) -> str:
    for name, (cls, _) in REGISTRY.items():
        if type(model) is cls:
            return name
    raise ValueError(f"{type(model).__name__} is not a registered model; "
                     f"valid: {sorted(REGISTRY)}")
