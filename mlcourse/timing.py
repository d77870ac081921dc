"""Timing helpers: a stopwatch for cells and a throughput measure."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class Timer:
    """Context manager that measures wall time::

        with Timer("training") as t:
            train()
        print(t.seconds)
    """

    label: str = ""
    verbose: bool = True
    seconds: float = 0.0

    def __enter__(self) -> "Timer":
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._t0
        if self.verbose and self.label:
            print(f"{self.label}: {self.seconds:.2f} s")


def throughput(items: int, seconds: float) -> float:
    """Items per second (``items / seconds``), safe for ``seconds == 0``."""
    return items / seconds if seconds > 0 else float("inf")
