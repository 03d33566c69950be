"""The `gan` command line: one subcommand per pipeline stage (the stages/ scripts call the same
`gan.stages.<stage>.run`), plus `gan score`, `gan queue`, `gan grid`, `gan remedies`,
`gan union` and `gan runs`."""

from __future__ import annotations

import typer

from gan.runtime import configure_logging, user_errors_as_exit
from gan.stages import (
    download,
    evaluate,
    grid,
    prepare,
    queue,
    reference,
    remedies,
    report,
    runs,
    sample,
    score,
    train,
    train_classifier,
    union,
)

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
for _module in (download, prepare, train_classifier, train, sample, reference, evaluate, report,
                score, queue, grid, remedies, union, runs):
    _name = _module.__name__.rsplit(".", 1)[1].replace("_", "-")
    app.command(_name, help=_module.run.__doc__)(user_errors_as_exit(_module.run))


@app.callback()
def main() -> None:
    """fashion-gan: reproducible GAN experiments on Fashion-MNIST."""
    configure_logging()


if __name__ == "__main__":
    app()
