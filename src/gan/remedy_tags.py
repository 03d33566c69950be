"""A variant's remedies as MLflow tags (see gan.remedies for the study). Its own module, so
that the stages that tag runs do not depend on the study's list of variants."""

from __future__ import annotations

from typing import Any

from gan.config import VariantConfig

# The fields a remedy changes (the architecture and width stay the base's).
REMEDY_FIELDS = ("loss", "d_norm", "g_spectral", "penalty", "penalty_weight", "n_critic",
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


