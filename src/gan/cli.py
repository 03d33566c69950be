"""The `gan` command line: one subcommand per pipeline stage (the stages/ scripts call the same)."""

from __future__ import annotations

import typer

from gan.classify import run_train_classifier
from gan.data import run_prepare
from gan.download import run_download
from gan.eval_run import run_evaluate, run_reference, run_score
from gan.report import run_report
from gan.runtime import configure_logging, user_errors_as_exit
from gan.sample import run_sample
from gan.train_run import run_train_gan

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
for _name, _fn in {
    "download": run_download,
    "prepare": run_prepare,
    "train-classifier": run_train_classifier,
    "train": run_train_gan,
    "sample": run_sample,
    "reference": run_reference,
    "evaluate": run_evaluate,
    "report": run_report,
    "score": run_score,
}.items():
    app.command(_name)(user_errors_as_exit(_fn))


@app.callback()
def main() -> None:
    """fashion-gan: reproducible GAN experiments on Fashion-MNIST."""
    configure_logging()


if __name__ == "__main__":
    app()
