"""Tune Python's cyclic garbage collector for a long-running gateway process.

Why this exists (measured with ``bench/ingest.py``, SQLite, 64 connections): a webhook that
waits for its group commit keeps its request's objects (coroutines, frames, futures, dicts)
alive for a few milliseconds, and 64 such requests in flight are thousands of young container
objects. With CPython's default threshold (a young collection every 700 net allocations), that
alone triggered ~3,700 young and ~30 full collections in a 12-second run of ~50,000 requests,
and they freed nothing (every object was still in use); perf put ~10 % of the server's CPU in
the collector. Full collections also re-walk everything import created (~45,000 objects:
pydantic, zeep, lxml wrappers, the app), which stalls every request in flight.

Two standard remedies, both from CPython's own documentation of :mod:`gc`:

- :func:`gc.freeze` once start-up is done moves what import and start-up built into a permanent
  generation that collections never walk again (it all lives as long as the process anyway);
- a higher first threshold lets requests finish (and free their objects by reference counting)
  before a collection looks at them. Garbage cycles still get collected, only after 10,000
  allocations instead of 700: a few megabytes of garbage at most.

No library does this; it is three calls, so it stays here, in one place, applied by every
long-running entry point (``serve``, ``worker``, the benchmark's servers).
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
