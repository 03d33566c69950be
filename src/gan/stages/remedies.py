"""`gan remedies`: the remedies study in one command. One DVC experiment per dataset (10
classes, Stacked Fashion-MNIST), each training the study's variants (gan.remedies.study()) over
the seeds and ranking them in its report. A command beside the stages, as `gan queue` is."""

from __future__ import annotations

import logging
import subprocess
import time
from pathlib import Path
from typing import Annotated

import typer

from gan.config import ConfigError, load_params
from gan.errors import PipelineError
from gan.overrides import check_points
from gan.remedies import study_overrides
from gan.tracking import check_tracking

log = logging.getLogger(__name__)


def experiment_args(stack: int, params: Path, extra: list[str], name: str,
                    only: list[str] | None = None, width: int = 64) -> list[str]:
    """`dvc exp run` arguments of the study on `stack` channels: the study's variants (or
    those in `only`) at `width`, one snapshot per epoch (the class-share heat map), then the
    caller's overrides."""
    overrides = [*study_overrides(load_params(params), only, width), f"data.stack={stack}",
                 "eval.eval_every=1", *extra]
    return ["exp", "run", "--name", name, *(a for s in overrides for a in ("-S", s))]


STACKS = typer.Option(help="1: 10 classes; 3: Stacked Fashion-MNIST, 1,000 modes")
SET = typer.Option("--set", "-S", help="a `dvc exp run -S` override")
ONLY = typer.Option(help="run only these variants of the study")
WIDTH = typer.Option(min=1, help="every variant's width, G and D (DCGAN channels)")


def run(stack: Annotated[list[int], STACKS] = [1, 3],  # noqa: B006 (typer reads lists)
        set_: Annotated[list[str], SET] = [],  # noqa: B006
        only: Annotated[list[str], ONLY] = [],  # noqa: B006
        width: Annotated[int, WIDTH] = 64,
        queue: bool = False, params: Path = Path("params.yaml")) -> None:
    """Run the remedies study: the dcgan base, one variant per remedy and the recommended
    combinations (README: remedies), over `seeds`, once per STACK (1: 10 classes, 3: Stacked
    Fashion-MNIST, 1,000 modes). SET: more `dvc exp run -S` overrides, e.g. a smaller budget
    (`--set epochs=5 --set data.train_size=10000`). With --queue the experiments are queued
    for `dvc queue start` instead of run one after the other. ONLY: a subset of the study's
    variants (`--only dcgan --only hinge_sn`). WIDTH: the networks' width (64, or 16 for the
    settling CPU budget of `make settle-remedies`).

    Each experiment's report (metrics/report/report.md) ranks the variants; MLflow runs carry
    `remedy` tags."""
    if not stack or any(k not in (1, 2, 3) for k in stack):
        raise ConfigError(f"--stack takes 1 (10 classes), 2 or 3 (stacked), got {stack}")
    check_tracking()  # before the first experiment: all of them log there
    stamp = int(time.time())
    experiments = {k: experiment_args(k, params, set_, f"remedies-stack{k}-{stamp}", only, width)
                   for k in stack}
    # Composed and validated as DVC will: a study that cannot run starts nothing.
    check_points(params, [[a for a in args[4:] if a != "-S"] for args in experiments.values()])
    for k, args in experiments.items():
        if queue:
            args.insert(2, "--queue")
        log.info("%s the remedies study on %s", "queueing" if queue else "running",
                 "10 classes" if k == 1 else f"{k} stacked images ({10 ** k} modes)")
        if subprocess.run(["dvc", *args]).returncode != 0:  # DVC prints its own progress
            raise PipelineError(f"`dvc {' '.join(args[:4])} ...` failed; see DVC's output above")
