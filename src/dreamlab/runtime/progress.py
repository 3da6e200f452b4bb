"""Progress bars with ETA for every long loop (issue 2 item 5).

On a terminal this is a rich bar; elsewhere (CI, pipes, tests) it logs a line every
`log_every_s` seconds, so logs stay short and nothing depends on terminal codes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from dreamlab.runtime.console import get_console, interactive

log = logging.getLogger("dreamlab")
T = TypeVar("T")


class ProgressBar:
    """`with ProgressBar("vae epoch 1", total=n) as bar: bar.advance(k, loss=0.3)`."""

    def __init__(self, description: str, total: float | None, log_every_s: float = 10.0,
                 enabled: bool = True) -> None:
        self.description = description
        self.total = total
        self.done = 0.0
        self.log_every_s = log_every_s
        self.fields: dict[str, float] = {}
        self._rich = enabled and interactive()
        self._progress: Progress | None = None
        self._task = None
        self._t0 = self._last = time.monotonic()

    def __enter__(self) -> ProgressBar:
        if self._rich:
            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                TextColumn("{task.fields[info]}"), console=get_console(), transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=self.total, info="")
        return self

    def advance(self, amount: float = 1, **fields: float) -> None:
        self.done += amount
        self.fields.update(fields)
        info = " ".join(f"{k}={v:.4g}" for k, v in self.fields.items())
        if self._progress is not None:
            self._progress.update(self._task, advance=amount, info=info)
            return
        now = time.monotonic()
        if now - self._last >= self.log_every_s:
            self._last = now
            elapsed = now - self._t0
            eta = ""
            if self.total and self.done > 0:
                eta = f" eta {elapsed * (self.total - self.done) / self.done:.0f}s"
            total = f"/{self.total:g}" if self.total else ""
            log.info("%s %g%s (%.0fs%s) %s", self.description, self.done, total, elapsed, eta,
                     info)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with ProgressBar(description, total) as bar:
        for item in items:
            yield item
            bar.advance(1)
