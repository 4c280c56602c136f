"""Fault injection shared by both emulators.

Reliability tests and benchmarks turn these knobs to make an emulator slow, flaky, or lossy
in the ways the real services are. A seeded :class:`random.Random` makes every run of a test
see the same sequence of faults.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field


@dataclass
class Faults:
    """What to break, and how often.

    ``latency`` seconds are added before every API answer. With probability ``error_ratio``
    an API call fails with one of ``error_codes`` (chosen by each emulator's own vocabulary:
    Tencent ErrorCodes, Salesforce errorCodes). ``forced_errors`` are used first, in order,
    one per call: a test that needs "fail exactly twice, then succeed" puts two codes there.
    With probability ``drop_ratio`` an outgoing callback or notification is silently lost.
    """

    latency: float = 0.0
    error_ratio: float = 0.0
    error_codes: list[str] = field(default_factory=list)
    forced_errors: list[str] = field(default_factory=list)
    drop_ratio: float = 0.0
    seed: int = 0
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    async def delay(self) -> None:
        if self.latency > 0:
            await asyncio.sleep(self.latency)

    def next_error(self) -> str | None:
        """The error code this call must fail with, or ``None`` to answer normally."""
        if self.forced_errors:
            return self.forced_errors.pop(0)
        if self.error_codes and self.error_ratio > 0 and self._rng.random() < self.error_ratio:
            return self._rng.choice(self.error_codes)
        return None

    def drop(self) -> bool:
        """Whether the next outgoing delivery is lost on the way."""
        return self.drop_ratio > 0 and self._rng.random() < self.drop_ratio
