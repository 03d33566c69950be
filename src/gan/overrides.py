"""`-S` overrides checked before anything leaves the machine: each grid point (a `gan queue`
point, a `gan remedies` experiment) is composed the way `dvc exp run -S` composes it
(dvc.utils.hydra.apply_overrides on a copy of params.yaml) and validated against the config
model, so a point that cannot apply or validate is refused before it is queued or submitted."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from gan.config import ConfigError, load_params


def check_point(params: Path, point: list[str]) -> None:
    """Raise ConfigError naming the point, the override and the fix if `point` (a list of
    `-S` values) does not apply to `params` or the result fails the config's checks."""
    from dvc.utils.hydra import apply_overrides  # dvc is heavy; only the commands need it

    label = " ".join(point) or "(no overrides)"
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "params.yaml"
        shutil.copy(params, copy)
        for override in point:  # one at a time: the error names the one that fails
            try:
                apply_overrides(str(copy), [override])
            except Exception as exc:  # hydra's and omegaconf's errors have no common base
                key = override.lstrip("+~").partition("=")[0]
                raise ConfigError(
                    f"grid point '{label}': `-S {override}` does not apply to {params} "
                    f"({_first_line(exc)}); check the spelling of '{key}' against {params} "
                    f"(a new key needs `+{key}=...`)") from None
        try:
            load_params(copy)
        except ConfigError as exc:
            raise ConfigError(f"grid point '{label}': "
                              f"{str(exc).replace(str(copy), str(params))}") from None


def check_points(params: Path, points: list[list[str]]) -> None:
    """check_point for every point, before the first is queued."""
    for point in points:
        check_point(params, point)


def _first_line(exc: BaseException) -> str:
    """Hydra's own words (DVC wraps them in 'Invalid `--set-param` value')."""
    lines = str(exc.__cause__ or exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
