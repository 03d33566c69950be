"""Progress a person can watch, at the edges (stages and CLI), never in library loops.

On an interactive terminal: a bar over epochs (or snapshots) with the latest figures, and a bar
over the steps within one. Otherwise (DVC's logs, CI): one INFO line per epoch. `quiet`: none.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from types import TracebackType

from tqdm import tqdm

log = logging.getLogger(__name__)


class Progress:
    def __init__(self, desc: str, total: int, initial: int = 0, unit: str = "epoch",
                 steps: int = 0, quiet: bool = False) -> None:
        self.desc, self.total, self.unit, self.quiet = desc, total, unit, quiet
        self.interactive = not quiet and sys.stderr.isatty()
        self.outer = self.inner = None
        if self.interactive:
            self.outer = tqdm(total=total, initial=initial, desc=desc, unit=unit, position=0)
            if steps:
                self.inner = tqdm(total=steps, desc="steps", unit="step", position=1,
                                  leave=False)

    def step(self) -> None:
        """One step within the current epoch."""
        if self.inner is not None:
            self.inner.update()

    def advance(self, done: int, figures: Mapping[str, float]) -> None:
        """An epoch (or snapshot) is done: `done` of `total`, with its figures."""
        text = " ".join(f"{k}={v:.4g}" for k, v in figures.items())
        if self.outer is not None:
            self.outer.update(1)
            self.outer.set_postfix_str(text)
            if self.inner is not None:
                self.inner.reset()
        elif not self.quiet:
            log.info("%s %s %d/%d %s", self.desc, self.unit, done, self.total, text)

    def close(self) -> None:
        for bar in (self.inner, self.outer):
            if bar is not None:
                bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
