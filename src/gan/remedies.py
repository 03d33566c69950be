"""The remedies for mode collapse as variants, and the study that ranks them.

A remedy is a set of variant fields (gan.config.VariantConfig) changed from the dcgan base;
`gan.remedy_tags` names them for MLflow and the report. STUDY is the study's variants: the base,
one per remedy and the combinations the literature recommends. `study_overrides` turns it into
the `dvc exp run -S` overrides that replace params.yaml's variants with the study's.
"""

from __future__ import annotations

from typing import Any

from gan.config import ConfigError, Params

DIFFAUGMENT = ["brightness", "contrast", "translation", "cutout"]

STUDY: dict[str, dict[str, Any]] = {
    "dcgan": {},                                            # the base: non-saturating, no norm
    "dcgan_bn": {"d_norm": "batch"},                        # the write-ups' remedy
    "d_layernorm": {"d_norm": "layer"},
    "d_spectral": {"d_norm": "spectral"},                   # Miyato et al. 2018
    "minimax": {"loss": "minimax"},                         # Goodfellow et al. 2014
    "hinge": {"loss": "hinge"},
    "lsgan": {"loss": "least_squares"},                     # Mao et al. 2017
    "wgan_gp": {"loss": "wasserstein", "penalty": "wgan_gp", "penalty_weight": 10.0,
                "beta1": 0.5, "beta2": 0.9},                # Gulrajani et al. 2017
    "r1": {"penalty": "r1", "penalty_weight": 1.0},         # Mescheder et al. 2018
    "n_critic2": {"n_critic": 2},
    "pac2": {"pack": 2},                                    # PacGAN (Lin et al. 2018)
    "mbstd": {"mbstd_group": 4},                            # ProGAN (Karras et al. 2018)
    "diffaug": {"augment": DIFFAUGMENT},                    # Zhao et al. 2020
    "ttur": {"lr_d": 4e-4, "lr_g": 1e-4},                   # Heusel et al. 2017
    # Combinations: SNGAN's recipe (hinge, spectral norm, beta1 0, beta2 0.9) and PacGAN's
    # packing with it.
    "hinge_sn": {"loss": "hinge", "d_norm": "spectral", "beta1": 0.0, "beta2": 0.9},
    "hinge_sn_pac2": {"loss": "hinge", "d_norm": "spectral", "beta1": 0.0, "beta2": 0.9,
                      "pack": 2},
}


def _yaml_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ",".join(map(str, value)) + "]"
    return str(value)


def study_overrides(params: Params, only: list[str] | None = None) -> list[str]:
    """`-S` values that make params.yaml's variants exactly STUDY, or its variants named in
    `only` (removing the others)."""
    unknown = sorted(set(only or []) - set(STUDY))
    if unknown:
        raise ConfigError(f"no remedy variant(s) {unknown} in the study; valid: {list(STUDY)}")
    study = {n: f for n, f in STUDY.items() if not only or n in only}
    out = [f"~variants.{name}" for name in params.variants if name not in study]
    for name, fields in study.items():
        body = {"arch": "dcgan", "width": 64} | fields
        if name in params.variants:  # replace its fields: reset the ones STUDY leaves out
            out.append(f"~variants.{name}")
        out.append(f"+variants.{name}={{" + ", ".join(
            f"{k}: {_yaml_value(v)}" for k, v in body.items()) + "}")
    return out
