"""`gan remedies`: the `dvc exp run` arguments of the study."""

import shutil

from dvc.utils.hydra import apply_overrides

from gan.config import load_params
from gan.remedies import remedy_tags, study
from gan.stages.remedies import experiment_args
from tests.conftest import REPO


def test_the_study_overrides_give_exactly_the_study_variants(tmp_path):
    """Applied as `dvc exp run -S` applies them, the study's overrides replace params.yaml's
    variants by the study's, each with its remedy's fields, and the remedies pass their checks
    (load_params validates them)."""
    path = tmp_path / "params.yaml"
    shutil.copy(REPO / "params.yaml", path)
    args = experiment_args(3, path, ["epochs=2"], "remedies-test", None)
    overrides = [a for a in args if a.startswith(("~", "+", "data.", "eval.", "epochs"))]
    assert args[:4] == ["exp", "run", "--name", "remedies-test"] and overrides[-1] == "epochs=2"
    apply_overrides(str(path), overrides)
    p = load_params(path)  # raises ConfigError if a remedy fails its checks
    assert list(p.variants) == list(study()) and p.data.stack == 3 and p.eval.eval_every == 1
    for name, fields in study().items():
        assert {k: getattr(p.variants[name], k) for k in fields} == fields, name
    tags = remedy_tags(p.variants["wgan_gp"])
    assert tags["remedy"] == ("loss=wasserstein penalty=wgan_gp beta1=0.5 beta2=0.9")
    assert tags["remedy.penalty_weight"] == "10.0" and remedy_tags(p.variants["dcgan"])[
        "remedy"] == "base"


def test_the_study_runs_at_the_width_asked(tmp_path):
    """--width sets every study variant's width (G and D), the remedies' fields untouched."""
    path = tmp_path / "params.yaml"
    shutil.copy(REPO / "params.yaml", path)
    args = experiment_args(1, path, [], "remedies-test", ["dcgan", "pac2"], width=16)
    apply_overrides(str(path), [a for a in args if a.startswith(("~", "+", "data.", "eval."))])
    p = load_params(path)
    assert list(p.variants) == ["dcgan", "pac2"] and p.data.stack == 1
    assert [v.width for v in p.variants.values()] == [16, 16] and p.variants["pac2"].pack == 2
