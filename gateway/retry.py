"""When to try a failed event again: exponential backoff with jitter, durable across crashes.

Why not stamina here (the worker uses it for short retries of an outcome write): it retries
inside a running call, holding the worker's lease and forgetting everything on a crash. An
event's retries must survive restarts and span Salesforce's 24-hour redelivery window, so the
delay is computed here and stored as the event's ``run_after``; the worker's claim query
honours it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from gateway import settings


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt *n* (1-based) that failed waits ``min(cap, base * 2**(n-1))``, jittered by ±``jitter``.

    The defaults (2 s doubling to a 2 h cap, 30 attempts) keep retrying for about 36 hours in
    all, longer than Salesforce's own 24-hour window; :meth:`minimum_total_delay` proves it.
    """

    base: float = settings.default("gateway_retry_base_seconds")
    cap: float = settings.default("gateway_retry_cap_seconds")
    max_attempts: int = settings.default("gateway_max_attempts")
    jitter: float = 0.2
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def nominal_delay(self, attempt: int) -> float:
        exponent = min(attempt - 1, 62)  # 2**62 s is already forever; avoid float overflow
        return min(self.cap, self.base * 2.0**exponent)

    def delay(self, attempt: int, *, at_least: float | None = None) -> float:
        """The wait after failed attempt ``attempt``; never shorter than the remote side's hint."""
        nominal = self.nominal_delay(attempt)
        jittered = nominal * self.rng.uniform(1 - self.jitter, 1 + self.jitter)
        return max(jittered, at_least or 0.0)

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts

    def minimum_total_delay(self) -> float:
        """The shortest time from first failure to dead letter, jitter working against us."""
        waits = (self.nominal_delay(n) * (1 - self.jitter) for n in range(1, self.max_attempts))
        return sum(waits)
