"""Every DVC stage lists exactly the library modules its script imports: editing one re-runs
the stages that use it, and only those."""

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
    stage = STAGES[name].get("do", STAGES[name])  # foreach stages keep their body under `do`
    script = stage["cmd"].split()[1]
    out = subprocess.run([sys.executable, "-c", LIST_IMPORTS, str(REPO / script)], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    imported = {str(Path(p).relative_to(REPO)) for p in json.loads(out)}
    listed = {d for d in stage["deps"] if d.startswith("src/")}
    assert not imported - listed, f"{name!r} imports but does not list: {imported - listed}"
    assert not listed - imported, f"{name!r} lists but does not import: {listed - imported}"
    assert script in stage["deps"]
