"""Progress of a long run on stderr: a bar redrawn in place on a terminal, one plain count line otherwise.

A log file or a pipe gets no carriage returns, only ``label: 120/120`` at the end.
The bar is drawn as ``replay`` draws its own (``streams.replay.progress_bar``).
"""
from __future__ import annotations

import sys
import time
from typing import TextIO

from streams.replay import progress_bar


class Progress:
    def __init__(self, total: int, label: str, stream: TextIO | None = None, *, redraw_seconds: float = 0.1):
        self.total = total
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self.redraw_seconds = redraw_seconds
        self._drawn_at = 0.0
        try:
            self.terminal = self.stream.isatty()
        except (AttributeError, ValueError):
            self.terminal = False

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.terminal and (self.done >= self.total or time.monotonic() - self._drawn_at >= self.redraw_seconds):
            self._draw()

    def close(self) -> None:
        if self.terminal:
            self._draw()
            self.stream.write("\n")
        else:
            self.stream.write(f"{self.label}: {self.done}/{self.total}\n")
        self.stream.flush()

    def _draw(self) -> None:
        fraction = self.done / self.total if self.total else 1.0
        self.stream.write(f"\r{self.label} {progress_bar(fraction)} {self.done}/{self.total}")
        self.stream.flush()
        self._drawn_at = time.monotonic()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
