"""Fault injection shared by both emulators.

Reliability tests and benchmarks turn these knobs to make an emulator slow, flaky, or lossy
in the ways the real services are. A seeded :class:`random.Random` makes every run of a test
see the same sequence of faults.

Knobs keyed by *operation* name let a test break one call and leave the others alone. Each
emulator names its own operations (the Salesforce ones are in
:mod:`emulators.salesforce.operations`) and refuses names it does not know, so a typo in a
test fails loudly instead of injecting nothing.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field, fields

HOLD_POLL_SECONDS = 0.05


@dataclass
class Faults:
    """What to break, and how often.

    ``latency`` seconds are added before every API answer. With probability ``error_ratio``
    an API call fails with one of ``error_codes`` (chosen by each emulator's own vocabulary:
    Tencent ErrorCodes, Salesforce errorCodes). ``forced_errors`` are used first, in order,
    one per call: a test that needs "fail exactly twice, then succeed" puts two codes there.
    With probability ``drop_ratio`` an outgoing callback or notification is silently lost.

    Per operation: ``forced_errors_for[op]`` is that operation's own queue of error codes,
    used before the global ones. ``lose_answers[op] = n`` makes the next ``n`` calls of
    ``op`` do their work (apply the write) and then lose the answer: the emulator holds the
    response for ``lost_answer_seconds`` (an hour by default, longer than any caller's
    timeout), so the caller times out not knowing the write happened. If the caller gives
    up (cancels, disconnects) the change stays, as it would in the real service.
    """

    latency: float = 0.0
    error_ratio: float = 0.0
    error_codes: list[str] = field(default_factory=list)
    forced_errors: list[str] = field(default_factory=list)
    drop_ratio: float = 0.0
    seed: int = 0
    forced_errors_for: dict[str, list[str]] = field(default_factory=dict)
    lose_answers: dict[str, int] = field(default_factory=dict)
    lost_answer_seconds: float = 3600.0
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def check(self, operations: Collection[str]) -> None:
        """Refuse knobs of the wrong shape, and operation names outside ``operations``.

        Raises ``ValueError`` naming the first problem; emulators call it when configured
        and when a test sets the knobs over HTTP.
        """
        for name in ("latency", "error_ratio", "drop_ratio", "lost_answer_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number")
            if value < 0:
                raise ValueError(f"{name} must not be negative")
        for name in ("error_codes", "forced_errors"):
            if not _is_str_list(getattr(self, name)):
                raise ValueError(f"{name} must be a list of error codes")
        if not isinstance(self.forced_errors_for, dict) or not all(
            _is_str_list(codes) for codes in self.forced_errors_for.values()
        ):
            raise ValueError("forced_errors_for must map operations to lists of error codes")
        if not isinstance(self.lose_answers, dict) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in self.lose_answers.values()
        ):
            raise ValueError("lose_answers must map operations to counts (0 or more)")
        unknown = sorted((set(self.forced_errors_for) | set(self.lose_answers)) - set(operations))
        if unknown:
            raise ValueError(f"unknown operations {unknown}; known: {sorted(operations)}")

    def knobs(self) -> dict[str, object]:
        """The settable fields and their values (what the test APIs show)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.init}

    async def delay(self) -> None:
        if self.latency > 0:
            await asyncio.sleep(self.latency)

    def forced_error_for(self, operation: str) -> str | None:
        """The next code from ``operation``'s own queue, or ``None`` when it is empty."""
        queue = self.forced_errors_for.get(operation)
        return queue.pop(0) if queue else None

    def next_error(self, operation: str | None = None) -> str | None:
        """The error code this call must fail with, or ``None`` to answer normally.

        The operation's own queue comes first, then the global ``forced_errors``, then a
        random draw.
        """
        if operation is not None and (code := self.forced_error_for(operation)):
            return code
        if self.forced_errors:
            return self.forced_errors.pop(0)
        if self.error_codes and self.error_ratio > 0 and self._rng.random() < self.error_ratio:
            return self._rng.choice(self.error_codes)
        return None

    def lose_answer(self, operation: str) -> bool:
        """Whether this call's answer is lost (counts one of ``lose_answers[operation]``)."""
        left = self.lose_answers.get(operation, 0)
        if left <= 0:
            return False
        self.lose_answers[operation] = left - 1
        return True

    async def hold_answer(self, gone: Callable[[], Awaitable[bool]] | None = None) -> None:
        """Sit on an answer for ``lost_answer_seconds``, or until ``gone()`` says the caller left.

        Over a real socket ``gone`` notices the disconnect, so a server is not kept busy for
        an hour; in-process (``httpx.ASGITransport``) the caller's timeout cancels this wait.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.lost_answer_seconds
        while (left := deadline - loop.time()) > 0:
            if gone is not None and await gone():
                return
            await asyncio.sleep(min(HOLD_POLL_SECONDS, left))

    def drop(self) -> bool:
        """Whether the next outgoing delivery is lost on the way."""
        return self.drop_ratio > 0 and self._rng.random() < self.drop_ratio


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)
