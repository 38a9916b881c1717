"""Small measuring helpers: repeat, take the median, never trust a single sample."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def timed(func: Callable[[], Any]) -> float:
    """Seconds one call of `func` takes (wall clock)."""
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def median(values: list[float]) -> float:
    return statistics.median(values)


@dataclass
class Measure:
    """One line of the report: a median value, its baseline from the same run, their ratio.

    `ratio` is always "this costs N times its baseline" (time over time, memory over
    memory), so above 1 means more expensive whatever the unit shown.
    """

    section: str
    name: str
    value: float
    unit: str
    baseline_name: str | None = None
    baseline_value: float | None = None
    ratio: float | None = None
    samples: list[float] = field(default_factory=list)
    baseline_samples: list[float] = field(default_factory=list)
    note: str = ""
    # For docs/performance.md: how much data the number was measured on, the peak memory
    # of the process measured, and the machine's 1-minute load average when it finished.
    size: str = ""
    peak_mib: float | None = None
    load: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "baseline_name": self.baseline_name,
            "baseline_value": self.baseline_value,
            "ratio": self.ratio,
            "samples": self.samples,
            "baseline_samples": self.baseline_samples,
            "note": self.note,
            "size": self.size,
            "peak_mib": self.peak_mib,
            "load": self.load,
        }
