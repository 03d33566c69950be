"""Every DVC stage lists the library modules its script imports, so code edits re-run it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

STAGES = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]

LIST_IMPORTS = """
import json, runpy, sys
runpy.run_path(sys.argv[1], run_name="imported_by_test")
print(json.dumps(sorted(m.__file__ for n, m in list(sys.modules.items())
                        if (n == "gan" or n.startswith("gan.")) and getattr(m, "__file__", None))))
"""


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_deps_cover_imported_modules(name):
    stage = STAGES[name]
    script = stage["cmd"].split()[1]
    out = subprocess.run([sys.executable, "-c", LIST_IMPORTS, str(REPO / script)], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    imported = {str(Path(p).relative_to(REPO)) for p in json.loads(out)}
    missing = imported - set(stage["deps"])
    assert not missing, f"dvc.yaml stage {name!r} imports but does not list: {sorted(missing)}"
    assert script in stage["deps"]
