"""Per-second sliding-window counters: Tencent's per-API limits (60007) and 40 msg/s per group.

A window of recent call times per key is exact for "N calls in any one second", which is how the
docs state the limits, and is cheap at emulator volumes.
"""

from __future__ import annotations

from collections import deque


def within_limit(times: deque[float], limit: int, now: float, window: float = 1.0) -> bool:
    """Record a call at ``now`` and say whether it fits ``limit`` calls per ``window`` seconds.

    A rejected call is not recorded, so a caller that backs off is not punished further.
    """
    while times and times[0] <= now - window:
        times.popleft()
    if len(times) >= limit:
        return False
    times.append(now)
    return True


class RateLimiter:
    """One sliding window per key (the API's command name)."""

    def __init__(self) -> None:
        self._windows: dict[str, deque[float]] = {}

    def allow(self, key: str, limit: int, now: float) -> bool:
        return within_limit(self._windows.setdefault(key, deque()), limit, now)
