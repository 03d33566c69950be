"""The remedies study as data: its variants named on request, and each remedy's MLflow tags
naming the fields it changes from the base."""

import pytest

from gan.config import ConfigError, Params, VariantConfig
from gan.remedies import remedy_tags, study, study_overrides


def test_unknown_study_variants_are_named():
    with pytest.raises(ConfigError, match=r"no remedy variant\(s\) \['pac9'\].*'pac2'"):
        study_overrides(Params(), ["pac9"])


def test_remedy_tags_name_the_fields_each_remedy_changes():
    variants = {n: VariantConfig(arch="dcgan", **fields) for n, fields in study().items()}
    tags = remedy_tags(variants["wgan_gp"])
    assert tags["remedy"] == "loss=wasserstein penalty=wgan_gp beta1=0.5 beta2=0.9"
    assert tags["remedy.penalty_weight"] == "10.0"
    assert remedy_tags(variants["dcgan"])["remedy"] == "base"
    assert remedy_tags(variants["hinge_sn"])["remedy"] == \
        "loss=hinge d_norm=spectral beta1=0.0 beta2=0.9"
    assert remedy_tags(variants["pac2"])["remedy"] == "pack=2"
