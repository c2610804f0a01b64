r"""Progress of long operations: a live bar on standard error, and a one-line summary.

One :class:`Progress` follows a sweep, or every sweep of a ``giantstep reproduce`` together: cells
done, failed and skipped (already in the store) against the total, elapsed time and an estimate
of the time left (from the cells executed so far). The bar is drawn with rich only when standard
error is a terminal and the caller did not ask for quiet output; otherwise nothing is drawn, so
piped or logged output stays clean. :meth:`Progress.summary` is the line printed at the end.

>>> with Progress(enabled=False, description="demo") as bar:
...     bar.add_total(3)
...     bar.advance(done=2, failed=1)
>>> bar.summary().startswith("demo: 2 done, 1 failed, 0 skipped of 3 cells")
True
"""

from __future__ import annotations

import sys
import time
from typing import Any


class Progress:
    """Counts of a long operation, drawn as a live bar when standard error is a terminal."""

    def __init__(self, enabled: bool = True, description: str = "cells", total: int = 0):
        self.description = description
        self.total = int(total)
        self.done = self.failed = self.skipped = 0
        self.started = time.perf_counter()
        self.bar: Any = None
        self._task = None
        self._depth = 0
        if enabled and _stderr_is_terminal():
            self.bar = _make_bar()
            self._task = self.bar.add_task(description, total=self.total, done=0, failed=0, skipped=0)

    def __enter__(self) -> "Progress":
        self._depth += 1
        if self.bar is not None and self._depth == 1:
            self.bar.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._depth -= 1
        if self.bar is not None and self._depth == 0:
            self._refresh()
            self.bar.stop()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def add_total(self, cells: int) -> None:
        """More cells to follow (each sweep of a reproduce adds its own)."""
        self.total += int(cells)
        self._refresh()

    def advance(self, done: int = 0, failed: int = 0, skipped: int = 0) -> None:
        self.done += done
        self.failed += failed
        self.skipped += skipped
        self._refresh()

    def describe(self, text: str) -> None:
        """Change the label drawn in front of the bar (e.g. the sweep being run); the summary keeps
        the operation's own description."""
        if self.bar is not None:
            self.bar.update(self._task, description=text)

    def log(self, line: str) -> None:
        """Print a line above the bar (or on standard error when no bar is drawn)."""
        if self.bar is not None and self.bar.live.is_started:
            self.bar.console.print(line, markup=False, highlight=False)
        else:
            print(line, file=sys.stderr, flush=True)

    def _refresh(self) -> None:
        if self.bar is not None:
            # skipped cells take no time: the bar (and its ETA) counts the executed ones only
            self.bar.update(self._task, total=max(self.total - self.skipped, 0), completed=self.done + self.failed,
                            done=self.done, failed=self.failed, skipped=self.skipped)

    def summary(self) -> str:
        """One line: counts and elapsed time."""
        return (f"{self.description}: {self.done} done, {self.failed} failed, {self.skipped} skipped of "
                f"{self.total} cells in {self.elapsed:.1f} s")


def _stderr_is_terminal() -> bool:
    from rich.console import Console

    return Console(stderr=True).is_terminal


def _make_bar() -> Any:
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    return RichProgress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("done {task.fields[done]}  failed {task.fields[failed]}  skipped {task.fields[skipped]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
