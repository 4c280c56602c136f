"""At most one call of an async function in flight; its callers share it, up to a deadline.

For queries that may block a thread for long, where cancelling the ``await`` would not free the
thread: a caller that gives up leaves the call running, and a caller that comes meanwhile
waits for that call instead of starting another, so however often callers come, they hold at
most one thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """Run ``call`` when no call of it is in flight; wait for it until ``deadline`` s after it began."""

    def __init__(self, call: Callable[[], Coroutine[Any, Any, T]], deadline: float) -> None:
        self._call = call
        self._deadline = deadline
        self._flight: asyncio.Task[T] | None = None
        self._gives_up_at = 0.0

    async def __call__(self) -> T:
        """The result of the call in flight, starting one if none is.

        Raises what the call raised, or :class:`TimeoutError` once ``deadline`` seconds have
        passed since the call began: a caller that comes while a stuck call is past its deadline
        gets that at once, without starting another.
        """
        loop = asyncio.get_running_loop()
        if self._flight is None or self._flight.done():
            self._flight = asyncio.create_task(self._call())
            self._flight.add_done_callback(_retrieve)
            self._gives_up_at = loop.time() + self._deadline
        async with asyncio.timeout_at(self._gives_up_at):
            # shield: a caller that gives up (or goes away) must not cancel the call others share.
            return await asyncio.shield(self._flight)

    def cancel(self) -> None:
        """Cancel the call in flight, if any (at shutdown: its thread, if any, runs on regardless)."""
        if self._flight is not None:
            self._flight.cancel()


def _retrieve(flight: asyncio.Task[Any]) -> None:
    """Mark a call's exception as seen: when every caller gave up on it, asyncio would log it."""
    if not flight.cancelled():
        flight.exception()
