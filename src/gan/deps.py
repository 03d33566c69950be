"""The library files a script runs: the closure of its `gan` imports, read from the code.

One source for two uses: every DVC stage lists exactly these files as deps (tests/test_deps.py
checks dvc.yaml against it), and the train stage's resume fingerprint hashes them. Model
modules are imported, never loaded by name (see `gan.models`), so the closure is complete.

    python -m gan.deps stages/train.py     # the deps block for a stage script
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent   # .../src/gan
ROOT = PACKAGE_DIR.parents[1]                   # the repository (editable install)


def module_file(name: str) -> Path | None:
    """The source file of module `gan[.x[.y]]`, or None if there is no such module."""
    parts = name.split(".")[1:]
    base = PACKAGE_DIR.joinpath(*parts)
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imported(path: Path) -> set[str]:
    """Names of the gan modules a file imports (anywhere in it, functions included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "gan"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] == "gan":
            found.add(node.module)
            # `from gan.models import classifier` imports the submodule
            found |= {f"{node.module}.{a.name}" for a in node.names
                      if module_file(f"{node.module}.{a.name}")}
    return found


def closure(*paths: Path) -> list[Path]:
    """Every gan source file that importing `paths` runs, parent packages included; sorted."""
    seen: set[Path] = set()
    todo = [Path(p).resolve() for p in paths]
    while todo:
        path = todo.pop()
        for name in _imported(path):
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # gan, gan.models, gan.models.gan_nets
                file = module_file(".".join(parts[:i]))
                if file is not None and file not in seen:
                    seen.add(file)
                    todo.append(file)
    return sorted(seen)


def stage_deps(script: Path | str) -> list[str]:
    """The library deps of a stage script, as dvc.yaml lists them (relative to the repo)."""
    return [p.relative_to(ROOT).as_posix() for p in closure(ROOT / script)]


if __name__ == "__main__":
    for dep in stage_deps(sys.argv[1]):
        print(f"- {dep}")
