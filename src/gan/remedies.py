"""The remedies for mode collapse as variants: their MLflow tags, and the study that ranks them.

A remedy is a set of variant fields (gan.config.VariantConfig) changed from the dcgan base;
`remedy_tags` names them for MLflow and the report. The study (`study()`) is data, the file
remedies.yaml beside this module: the base, one variant per remedy and the combinations the
literature recommends. `study_overrides` turns it into the `dvc exp run -S` overrides that
replace params.yaml's variants with the study's.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from gan.config import ConfigError, Params, VariantConfig

STUDY_FILE = Path(__file__).with_name("remedies.yaml")
BASE = "dcgan"  # the study's base: the report decides every other variant against it

# The fields a remedy changes (the architecture and width stay the base's).
REMEDY_FIELDS = ("loss", "d_norm", "d_width", "g_spectral", "penalty", "penalty_weight", "n_critic",
                 "pack", "mbstd_group", "augment", "beta1", "beta2", "lr_d", "lr_g")


def remedy_tags(v: VariantConfig) -> dict[str, str]:
    """MLflow tags of a variant: `remedy` (its changes from the base, e.g.
    "loss=hinge d_norm=spectral", or "base") and `remedy.<field>` for every remedy field, so
    the runs table groups and filters by any one of them."""
    base = VariantConfig(arch=v.arch, conditional=v.conditional, projection=v.projection,
                         width=v.width)
    changed = [f"{k}={_text(getattr(v, k))}" for k in REMEDY_FIELDS
               if getattr(v, k) != getattr(base, k)]
    return {"remedy": " ".join(changed) or "base"} | {
        f"remedy.{k}": _text(getattr(v, k)) for k in REMEDY_FIELDS}


def variant_run_tags(variant: str, seed: int, arch: str, channels: int,
                     v: VariantConfig) -> dict[str, str]:
    """The tags that identify a variant's run (training, and its evaluation) in MLflow."""
    return {"variant": variant, "seed": str(seed), "architecture": arch,
            "stack": str(channels)} | remedy_tags(v)


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(map(str, value)) or "none"
    return "default" if value is None else str(value)

@functools.cache
def study() -> dict[str, dict[str, Any]]:
    """The study's variants, name -> fields changed from the base (remedies.yaml)."""
    return yaml.safe_load(STUDY_FILE.read_text())


def _yaml_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ",".join(map(str, value)) + "]"
    return str(value)


def study_overrides(params: Params, only: list[str] | None = None, width: int = 64) -> list[str]:
    """`-S` values that make params.yaml's variants exactly the study's, or its variants named in
    `only` (removing the others), every one of them `width` wide (G and D alike). Each variant
    is written out whole, every field at its default but the remedy's, so that a later
    `-S variants.<name>.<field>=...` finds its key, as it does in params.yaml."""
    every = study()
    unknown = sorted(set(only or []) - set(every))
    if unknown:
        raise ConfigError(f"no remedy variant(s) {unknown} in the study; valid: {list(every)}")
    chosen = {n: f for n, f in every.items() if not only or n in only}
    out = [f"~variants.{name}" for name in params.variants if name not in chosen]
    for name, fields in chosen.items():
        body = VariantConfig(arch="dcgan", width=width, **fields).model_dump()
        if name in params.variants:  # replace its fields: reset the ones the study leaves out
            out.append(f"~variants.{name}")
        out.append(f"+variants.{name}={{" + ", ".join(
            f"{k}: {_yaml_value(v)}" for k, v in body.items()) + "}")
    return out
