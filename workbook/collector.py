"""Python's cycle collector paused for one recalculation.

A recalculation reads, judges and writes tens of thousands of objects (cells, rows,
judgements, sheet XML) that all live until it ends, and makes almost none that point at
each other in a cycle. Left on, the collector's full passes walk every one of them again
and again and find nothing: measured at 100,000 licenses, a ninth of the run (3-5 s of
CPU), at 10,000 licenses a few per cent. Reference counting frees memory as ever while it
is paused (the 100,000-license peak stayed within 50 MB); the collector is switched back
on afterwards, so a long-lived process (the Excel add-in's) collects as before.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cycle collector off while the block runs; on again after if it was on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
