"""Every DVC stage lists exactly the library files its script runs (gan.deps, the same source
the resume fingerprint hashes): editing one re-runs the stages that use it, and only those."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gan.deps import closure, stage_deps
from gan.train.state import TRAIN_STAGE
from tests.conftest import REPO

STAGES = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]

LOADED = """
import json, runpy, sys
runpy.run_path(sys.argv[1], run_name="imported_by_test")
print(json.dumps(sorted(m.__file__ for n, m in list(sys.modules.items())
                        if (n == "gan" or n.startswith("gan.")) and getattr(m, "__file__", None))))
"""


def body(name: str) -> dict:
    return STAGES[name].get("do", STAGES[name])  # foreach stages keep their body under `do`


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_deps_are_the_import_closure_of_its_script(name):
    script = body(name)["cmd"].split()[1]
    assert script == f"stages/{name}.py"  # one name per stage: dvc.yaml -> stages/<name>.py
    listed = [d for d in body(name)["deps"] if d.startswith("src/")]
    expected = stage_deps(script)
    missing, extra = set(expected) - set(listed), set(listed) - set(expected)
    assert not missing, f"{name!r} runs but does not list: {sorted(missing)}"
    assert not extra, f"{name!r} lists but does not run: {sorted(extra)}"
    assert script in body(name)["deps"]


@pytest.mark.parametrize("name", sorted(STAGES))
def test_closure_covers_every_module_the_stage_loads(name):
    """Cross-check of the static closure: the modules really loaded by running the script's
    imports (model modules included: none is loaded by name)."""
    script = body(name)["cmd"].split()[1]
    out = subprocess.run([sys.executable, "-c", LOADED, str(REPO / script)], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    loaded = {str(Path(p).relative_to(REPO)) for p in json.loads(out)}
    assert loaded <= set(stage_deps(script)), loaded - set(stage_deps(script))


def test_reference_stage_depends_on_the_classifier_it_loads():
    assert "src/gan/models/classifier.py" in stage_deps("stages/reference.py")
    assert "src/gan/models/gan_nets.py" not in stage_deps("stages/reference.py")


def test_training_reads_no_evaluation_code():
    train = set(stage_deps("stages/train.py"))
    assert not [d for d in train if d.startswith("src/gan/eval/")]  # scoring, metrics, ...
    for module in ("eval/scoring", "eval/metrics", "models/classifier", "stages/evaluate"):
        assert f"src/gan/{module}.py" not in train
    assert "src/gan/train/loop.py" in train  # the paths above are the library's real ones
    assert set(closure(TRAIN_STAGE)) <= {REPO / d for d in train}  # the fingerprint's files


@pytest.mark.parametrize("stage", ["sample", "evaluate"])
def test_reading_a_trained_run_needs_no_training_code(stage):
    """sample and evaluate read generators through gan.trained: editing a loss, a penalty or
    the loop re-runs training, not them."""
    deps = stage_deps(f"stages/{stage}.py")
    assert "src/gan/trained.py" in deps
    assert not [d for d in deps if d.startswith("src/gan/train/")]


def test_the_library_has_no_import_cycle():
    """No module reaches itself through its gan imports (read as gan.deps reads them)."""
    package = REPO / "src" / "gan"
    cyclic = [f.relative_to(package).as_posix() for f in package.rglob("*.py")
              if f.resolve() in closure(f)]
    assert not cyclic
