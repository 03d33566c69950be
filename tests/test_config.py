import re
import shlex
import shutil
import subprocess
import typing
from pathlib import Path

import pytest
import yaml
from dvc.utils.hydra import apply_overrides
from pydantic import ValidationError

from gan import config
from gan.config import ConfigError, GanConfig, Params, VariantConfig, load_params
from gan.models.d_options import D_NORMS
from gan.train.augment import AUGMENTS
from gan.train.losses import LOSSES
from gan.train.penalties import PENALTIES
from tests.conftest import REPO


def write_params(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(text)
    return path


def test_params_yaml_matches_dataclass_defaults():
    # No hidden defaults: the dataclasses and params.yaml agree on every value.
    assert load_params(REPO / "params.yaml") == Params()


def test_top_level_gan_knobs_present():
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    for key in ("seed", "epochs", "batch_size", "lr_d", "lr_g"):
        assert key in raw


def test_exponent_float_as_dvc_writes_it(tmp_path):
    assert load_params(write_params(tmp_path, "lr_d: 1e-4\n")).lr_d == pytest.approx(1e-4)


def test_unknown_key_is_named_with_valid_keys(tmp_path):
    with pytest.raises(ConfigError, match=r"'classifier'.*unknown key\(s\) \['epoch'\].*epochs"):
        load_params(write_params(tmp_path, "classifier:\n  epoch: 3\n"))


def test_wrong_type_names_key_and_expected_type(tmp_path):
    with pytest.raises(ConfigError, match=r"'classifier.epochs' must be int, got 'three'"):
        load_params(write_params(tmp_path, "classifier:\n  epochs: three\n"))


def test_bool_is_not_an_int(tmp_path):
    with pytest.raises(ConfigError, match=r"'seed' must be int"):
        load_params(write_params(tmp_path, "seed: true\n"))


@pytest.mark.parametrize("text, message", [
    ("lr_d: -0.1\n", r"'lr_d' must be > 0"),
    ("classifier:\n  dropout: 1.5\n", r"'classifier.dropout' must be <= 0.95"),
    ("device: tpu\n", r"'device' must be one of \['auto', 'cpu', 'cuda', 'mps'\]"),
    ("data:\n  train_size: 0\n", r"'data.train_size' must be >= 1"),
    ("seeds: [0, -1]\n", r"'seeds\[1\]' must be >= 0"),
    ("seeds: []\n", r"'seeds' must be a non-empty list of distinct seeds"),
    ("seeds: [1, 1]\n", r"'seeds' must be a non-empty list of distinct seeds"),
    ("variants:\n  cgan:\n    lr_d_milestones: {0: 1.0e-4}\n",
     r"'variants.cgan.lr_d_milestones' needs epochs >= 1"),
])
def test_out_of_range_values(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_params(write_params(tmp_path, text))


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="params file not found"):
        load_params(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(write_params(tmp_path, "seed: [1\n"))
    with pytest.raises(ConfigError, match="mapping"):
        load_params(write_params(tmp_path, "- 1\n"))


def test_lr_d_milestones_read_with_epoch_keys(tmp_path):
    p = load_params(write_params(tmp_path, "lr_d_milestones:\n  100: 1.0e-4\n"))
    assert p.lr_d_milestones == {100: 1e-4}
    with pytest.raises(ConfigError, match="'lr_d_milestones' keys must be whole numbers"):
        load_params(write_params(tmp_path, "lr_d_milestones:\n  late: 1.0e-4\n"))
    with pytest.raises(ConfigError, match="epochs >= 1 and rates > 0"):
        load_params(write_params(tmp_path, "lr_d_milestones:\n  0: 1.0e-4\n"))


def make_variable(name: str) -> list[str]:
    """The overrides a Makefile preset passes to `dvc exp run` (without the -S flags)."""
    out = subprocess.run(["make", "-s", "--no-print-directory", "-f", "Makefile", "-f", "-",
                          "print"], input=f"$(info $({name}))\nprint: ;@:\n", cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    words = shlex.split(out)  # as the shell splits the recipe's command line
    return [w for w in words if w != "-S"]


@pytest.mark.parametrize("preset", ["QUICK_PARAMS", "WRITEUPS_PARAMS", "QUICK_REMEDIES_PARAMS"])
def test_makefile_presets_give_valid_params(tmp_path, preset):
    """Applied as DVC applies `-S` (Hydra overrides), each preset is a valid config."""
    path = tmp_path / "params.yaml"
    shutil.copy(REPO / "params.yaml", path)
    apply_overrides(str(path), make_variable(preset))
    p = load_params(path)
    if preset == "WRITEUPS_PARAMS":
        epochs = {name: v.epochs for name, v in p.variants.items()}
        assert epochs == {"gan": 50, "dcgan": 100, "dcgan_bn": 100, "cgan": 400,
                          "cgan_proj": 400}
        for name in ("cgan", "cgan_proj"):
            assert p.variants[name].lr_d == 1e-3
            assert p.variants[name].lr_d_milestones == {100: 1e-4}
        assert p.variants["dcgan"].lr_d is None and p.lr_d_milestones == {}
    elif preset == "QUICK_REMEDIES_PARAMS":
        assert p.epochs == 2 and p.seeds == [0, 1, 2] and p.eval.n_samples == 2000
    else:
        assert p.data.train_size == 10000 and p.epochs == 5 and p.seeds == [0, 1]


def test_the_old_d_batchnorm_key_names_its_replacement(tmp_path):
    with pytest.raises(ConfigError, match=r"'variants.dcgan_bn' has an old key: 'd_batchnorm' "
                                          r"is now 'd_norm' \(d_batchnorm: true is d_norm: batch"):
        load_params(write_params(tmp_path, "variants:\n  dcgan_bn:\n    d_batchnorm: true\n"))


@pytest.mark.parametrize("text, message", [
    ("data: 5\n", r"'data' must be a mapping, got 5 \(int\)"),
    ("variants:\n  x:\n    arch: vae\n", r"'variants.x.arch' must be one of \['mlp', 'dcgan'\]"),
    ("variants:\n  x:\n    augment: flip\n", r"'variants.x.augment' must be a list"),
    ("gan:\n  beta1: '0.5'\n", r"'gan.beta1' must be float, got '0.5' \(str\)"),
])
def test_every_section_names_the_key_and_the_expected_value(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_params(write_params(tmp_path, text))


def test_ints_are_read_as_floats_and_digit_milestone_keys_as_epochs(tmp_path):
    p = load_params(write_params(tmp_path, "lr_d: 1\nlr_d_milestones:\n  '100': 1.0e-4\n"))
    assert p.lr_d == 1.0 and isinstance(p.lr_d, float) and p.lr_d_milestones == {100: 1e-4}


@pytest.mark.parametrize("text, message", [
    ("classifier:\n  epochs: three\n", "'classifier.epochs' must be int, got 'three' (str)"),
    ("lr_d: -0.1\n", "'lr_d' must be > 0, got -0.1"),
    ("eval:\n  coverage_min_share: 2\n", "'eval.coverage_min_share' must be <= 1, got 2"),
    ("device: tpu\n", "'device' must be one of ['auto', 'cpu', 'cuda', 'mps'], got 'tpu'"),
    ("seeds: [0, -1]\n", "'seeds[1]' must be >= 0, got -1"),
    ("epoch: 3\n", "top level: unknown key(s) ['epoch']; valid keys: ['batch_size', "
     "'classifier', 'data', 'deterministic', 'device', 'epochs', 'eval', 'gan', 'lr_d', "
     "'lr_d_milestones', 'lr_g', 'mlflow', 'seed', 'seeds', 'variants']"),
    ("mlflow:\n  name: x\n", "'mlflow': unknown key(s) ['name']; valid keys: ['experiment', "
     "'system_metrics_s']"),
    ("lr_d_milestones:\n  late: 1.0e-4\n", "'lr_d_milestones' keys must be whole numbers, "
     "got 'late'"),
    ("variants:\n  1:\n    arch: mlp\n", "'variants' keys must be str, got 1 (int)"),
    ("variants:\n  x:\n    projection: true\n",
     "variants ['x'] set projection: true; it needs conditional: true"),
])
def test_one_line_error_names_file_key_expected_and_value(tmp_path, text, message):
    path = write_params(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_params(path)
    assert str(caught.value) == f"{path}: {message}"


SECTIONS = {"": Params, "data.": config.DataConfig, "classifier.": config.ClassifierConfig,
            "gan.": config.GanConfig, "variants.x.": config.VariantConfig,
            "eval.": config.EvalConfig, "mlflow.": config.MlflowConfig}


@pytest.mark.parametrize("prefix, model", SECTIONS.items(), ids=[p or "top" for p in SECTIONS])
def test_every_field_of_every_section_is_validated_under_its_key(tmp_path, prefix, model):
    """A value no field takes (a list of a list of a bool) fails naming that very key."""
    for name in model.model_fields:
        key = prefix + name
        nested: object = [[True]]
        for part in reversed(key.split(".")):
            nested = {part: nested}
        path = tmp_path / "params.yaml"
        path.write_text(yaml.safe_dump(nested))
        with pytest.raises(ConfigError, match=rf": '{re.escape(key)}(\[0\])?' must be "):
            load_params(path)


def test_models_are_frozen_and_equal_by_value():
    p = Params()
    with pytest.raises(ValidationError, match="frozen"):
        p.epochs = 3  # type: ignore[misc]
    off = config.GanConfig(compile="off")
    assert Params(gan=off) == Params(gan=config.GanConfig(compile="off")) != p


def literal_choices(field: str) -> set[str]:
    """The names a VariantConfig field takes: its Literal's arguments (list items' for a list)."""
    annotation = VariantConfig.model_fields[field].annotation
    if typing.get_origin(annotation) is list:
        (annotation,) = typing.get_args(annotation)
    return set(typing.get_args(annotation))


@pytest.mark.parametrize("field, registry", [("loss", LOSSES), ("penalty", PENALTIES),
                                             ("d_norm", D_NORMS), ("augment", AUGMENTS)])
def test_the_config_choices_are_the_registry_names(field, registry):
    """A remedy added to its registry but not to the config (or the other way) fails here."""
    assert literal_choices(field) == set(registry)


def test_the_smoothing_losses_are_the_losses_that_take_label_smoothing():
    assert set(config.SMOOTHING_LOSSES) == {n for n, loss in LOSSES.items() if loss.smoothing}


@pytest.mark.parametrize("field, value, key, registry", [
    ("loss", "bogus", "variants.dcgan.loss", LOSSES),
    ("penalty", "r2", "variants.dcgan.penalty", PENALTIES),
    ("d_norm", "group", "variants.dcgan.d_norm", D_NORMS),
    ("augment", ["flip"], "variants.dcgan.augment[0]", AUGMENTS),
])
def test_an_unknown_remedy_name_is_named_with_the_file_and_the_valid_ones(
        tmp_path, field, value, key, registry):
    path = tmp_path / "p.yaml"  # not params.yaml: the message names the file actually read
    path.write_text(yaml.safe_dump({"variants": {"dcgan": {field: value}}}))
    with pytest.raises(ConfigError) as caught:
        load_params(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    bad = value[0] if isinstance(value, list) else value
    assert re.search(rf"'{re.escape(key)}' must be one of "
                     rf"{re.escape(str(sorted(registry)))}, got '{bad}'", message), message
    assert "\n" not in message


def test_an_unknown_d_update_mode_lists_the_valid_ones(tmp_path):
    path = write_params(tmp_path, "gan:\n  d_update: both\n")
    with pytest.raises(ConfigError, match=r"'gan\.d_update' must be one of \[.*'joint'.*\], "
                                          r"got 'both'"):
        load_params(path)


CROSS_FIELD = [  # (params, the distinctive part of the message, the key and fix it names)
    ({"variants": {"x": {"pack": 3}}},
     r"batch_size 128 must split into packs of 3 and minibatch-std groups of 0",
     r"'variants\.x'.*batch_size 128 must split into packs of 3"),
    ({"variants": {"x": {"mbstd_group": 5}}},
     r"batch_size 128 must split into packs of 1 and minibatch-std groups of 5",
     r"'variants\.x'.*minibatch-std groups of 5"),
    ({"variants": {"x": {"conditional": True, "projection": True, "pack": 2}}},
     r"needs a D without projection",
     r"'variants\.x\.pack' needs a D without projection"),
    ({"gan": {"label_smoothing": 0.1}, "variants": {"x": {"loss": "hinge"}}},
     r"applies to the BCE losses.*variant x uses hinge",
     r"'gan\.label_smoothing' applies to the BCE losses.*set gan\.label_smoothing: 0"),
]


@pytest.mark.parametrize("data, problem, key_and_fix", CROSS_FIELD)
def test_remedies_that_do_not_fit_the_config_are_refused(tmp_path, data, problem, key_and_fix):
    """At construction (pydantic's ValidationError), and from a file as one ConfigError line
    that starts with the file actually read."""
    with pytest.raises(ValidationError, match=problem):
        Params.model_validate(data)
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as caught:
        load_params(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    assert re.search(key_and_fix, message) and "\n" not in message, message


def test_a_remedy_misfit_built_in_code_raises_at_construction():
    with pytest.raises(ValidationError, match="batch_size 128 must split into packs of 3"):
        Params(variants={"x": VariantConfig(pack=3)})
    with pytest.raises(ValidationError, match="applies to the BCE losses"):
        Params(variants={"x": VariantConfig(loss="hinge")}, gan=GanConfig(label_smoothing=0.1))
