"""The one lookup of the named choices (models, losses, penalties, augmentations, D
normalisations): each kind is a registry `name -> function or class` in its own module."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


def lookup(registry: Mapping[str, T], name: str, kind: str) -> T:
    """registry[name]; an unknown name raises a ValueError that lists the valid ones."""
    if name not in registry:
        raise ValueError(f"unknown {kind} {name!r}; valid: {sorted(registry)}")
    return registry[name]
