"""Overrides checked before anything leaves the machine (gan.overrides): every `-S` example of
the README and the Makefile applies to params.yaml and validates; a grid point that cannot run
is refused with its key and the fix, exit 2, before anything is queued."""

import re
import shutil
import subprocess
import sys

import pytest
from dvc.utils.hydra import apply_overrides

from gan.config import ConfigError, load_params
from gan.overrides import check_point
from gan.remedies import study_overrides
from tests.conftest import REPO

# `-S X`, `-S 'X'`, `--set X` as the README and the Makefile write them.
SET = re.compile(r"(?:-S|--set) (?:'([^']+)'|([^\s`'\\)]+))")


def documented_overrides() -> list[str]:
    text = (REPO / "README.md").read_text() + (REPO / "Makefile").read_text()
    # The Makefile's variables: the conditional recipe's variant, the quick run's device.
    text = text.replace("$(1)", "cgan").replace("$(QUICK_DEVICE)", "cpu")
    found = {a or b for a, b in SET.findall(text)}
    return sorted(s for s in found if "=" in s and "KEY" not in s and "<" not in s)


def test_the_documented_examples_are_found():
    found = documented_overrides()
    assert {"variants.dcgan.loss=hinge", "variants.dcgan.d_norm=spectral",
            "variants.dcgan.d_width=16", "data.stack=3"} <= set(found), found


@pytest.mark.parametrize("override", documented_overrides())
def test_every_documented_override_applies_and_validates(override):
    check_point(REPO / "params.yaml", [override])


def test_the_readme_remedy_example_runs_as_written(tmp_path):
    path = tmp_path / "params.yaml"
    shutil.copy(REPO / "params.yaml", path)
    apply_overrides(str(path), ["variants.dcgan.loss=hinge", "variants.dcgan.d_norm=spectral"])
    v = load_params(path).variants["dcgan"]
    assert (v.loss, v.d_norm) == ("hinge", "spectral")


def test_params_yaml_writes_every_variant_field():
    """A field missing from params.yaml would need `-S +...`: every one is written out."""
    import yaml

    from gan.config import VariantConfig

    raw = yaml.safe_load((REPO / "params.yaml").read_text())["variants"]
    for name, fields in raw.items():
        assert set(fields) == set(VariantConfig.model_fields), name


def test_a_study_variant_takes_a_plain_override_afterwards(tmp_path):
    """The study writes its variants whole, so `-S variants.pac2.lr_d=...` after it applies."""
    point = [*study_overrides(load_params(REPO / "params.yaml"), ["dcgan", "pac2"]),
             "variants.pac2.lr_d=1e-4", "variants.dcgan.d_width=16"]
    check_point(REPO / "params.yaml", point)


@pytest.mark.parametrize(("point", "words"), [
    (["variants.dcgan.los=hinge"], ["variants.dcgan.los", "spelling", "+variants.dcgan.los"]),
    (["variants.dcgan.loss=bogus"], ["variants.dcgan.loss", "must be one of", "hinge"]),
    (["epochs=2", "variants.nope.width=8"], ["'epochs=2 variants.nope.width=8'", "nope"]),
])
def test_a_point_that_cannot_run_is_named_with_its_key_and_fix(point, words):
    with pytest.raises(ConfigError) as err:
        check_point(REPO / "params.yaml", point)
    assert all(w in str(err.value) for w in words), str(err.value)


@pytest.mark.parametrize("slurm", [False, True])
def test_gan_queue_refuses_a_bad_grid_before_queueing_anything(tmp_path, slurm):
    """Exit 2 and one line naming the point; no DVC queue, no sbatch (the directory holds only
    params.yaml: reaching either would fail differently)."""
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    cmd = [sys.executable, "-m", "gan.cli", "queue", "variants.dcgan.loss=hinge,bogus",
           "--no-start", *(["--slurm"] if slurm else [])]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert "grid point 'variants.dcgan.loss=bogus'" in proc.stderr + proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]
