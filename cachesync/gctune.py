"""The garbage collector's settings of the long-running workers.

Every worker allocates a few short-lived containers per change event, almost none in
reference cycles, and some hold many objects for seconds (the inspector's pending checks:
about 200,000 at 5,000 sampled events/s). With CPython's default thresholds (700, 10, 10)
the young generation is collected every 700 allocations and the whole heap several times a
minute: measured in the inspector at full sampling, 0.2 cores of garbage collection; in
the CDC worker 3-7% of the binlog reader's CPU and a quarter of the assembling's.
"""

from __future__ import annotations

import gc
from typing import Final

THRESHOLDS: Final = (50_000, 20, 20)
"""Collect the young generation every 50,000 allocations (not 700), and older ones as
rarely relative to it as CPython does."""


def tune(young: int = THRESHOLDS[0]) -> None:
    """Keep the start-up heap out of every collection and collect less often (``young``:
    the young generation's threshold, for a process that needs it collected sooner)."""
    gc.freeze()
    gc.set_threshold(young, *THRESHOLDS[1:])
