"""Tune Python's cyclic garbage collector for a long-running gateway process.

A webhook that waits for its group commit keeps its request's objects (coroutines, frames,
futures) alive for a few milliseconds, so under load CPython's default threshold (a young
collection every 700 net allocations) runs collections that free nothing, and each full one
re-walks everything import built, stalling every request in flight. Two standard remedies,
both from CPython's own documentation of :mod:`gc`:

- :func:`gc.freeze` once start-up is done moves what import and start-up built into a permanent
  generation that collections never walk again (it all lives as long as the process anyway);
- a higher first threshold lets requests finish (and free their objects by reference counting)
  before a collection looks at them. Garbage cycles still get collected, only after 10,000
  allocations instead of 700: a few megabytes of garbage at most.

No library does this; it is three calls, so it stays here, in one place, applied by every
long-running entry point (``serve``, ``worker``, the benchmark's servers). What it was worth
is in ``bench/NOTES.md``, measured on CPython 3.11.7 only: other Python versions were not
measured.
"""

from __future__ import annotations

import gc

# Young collections every 10,000 net container allocations instead of 700. Older generations
# keep CPython's ratios (10, 10), so a full collection still follows a hundred young ones.
YOUNG_THRESHOLD = 10_000


def tune_for_serving() -> None:
    """Freeze what start-up built and raise the young-generation threshold. Call once, late."""
    gc.collect()  # what start-up left as garbage is freed now, not frozen forever
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
