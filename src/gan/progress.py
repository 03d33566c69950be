"""Progress a person can watch, at the edges (stages and CLI), never in library loops.

On an interactive terminal: a bar over epochs (or snapshots) with the latest figures, and a bar
over the steps within one. Otherwise (DVC's logs, CI): one INFO line per epoch. `quiet`: none.
Either way, after the first few steps one line says roughly how long the whole run will take on
this device, so a long run on a laptop CPU is known in seconds, not hours.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Mapping
from types import TracebackType

from tqdm import tqdm

log = logging.getLogger(__name__)

ESTIMATE_AFTER = 10  # steps timed before the run's length is estimated


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


class Progress:
    def __init__(self, desc: str, total: int, initial: int = 0, unit: str = "epoch",
                 steps: int = 0, quiet: bool = False,
                 sync: Callable[[], None] | None = None) -> None:
        """`steps` per epoch; `sync` waits for the device (one call, for the estimate)."""
        self.desc, self.total, self.unit, self.quiet = desc, total, unit, quiet
        self.steps, self.remaining, self.sync = steps, total - initial, sync
        self.done_steps, self.started = 0, time.perf_counter()
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
        self.done_steps += 1
        if self.done_steps == ESTIMATE_AFTER and self.steps and not self.quiet:
            if self.sync is not None:
                self.sync()
            per_step = (time.perf_counter() - self.started) / ESTIMATE_AFTER
            log.info("%s: about %s for %d %ss on this device (%.0f ms per step, measured on "
                     "the first %d)", self.desc, duration(per_step * self.steps * self.remaining),
                     self.remaining, self.unit, per_step * 1000, ESTIMATE_AFTER)

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
