"""The worker: claims events, runs their handlers, and decides what a failure means.

Order and exclusivity come from the store (a claim takes only the head of a conversation and a
lease on the conversation), so any number of workers, in one process or many, can run side by
side. This module adds what lives in one process: bounded concurrency, a heartbeat that keeps
the leases of events in hand alive, the retry/dead-letter decision, and a graceful stop.

An event must never run in two places at once, and a lease alone cannot promise that: the
worker holding it may stall, or lose the store, past its expiry while another takes the event
over. So each claim carries a fencing token (its attempt number: only the current claim may
extend or finish the event), and the worker stops a handler itself, on its own monotonic clock,
before the lease could have lapsed in the store: when a heartbeat says the lease was lost, and
when no heartbeat has renewed it in time, without waiting for a store that does not answer. If
the worker takes back an event whose earlier run is still going here (its lease lapsed while
the loop stalled), that run is stopped before the new one starts.

Writing an outcome is retried briefly with stamina (a well-kept library for exactly this:
exponential backoff with jitter, bounded by attempts and time). If the store stays unreachable,
the event simply leaves our hands: its lease lapses and it runs again later; handlers are
idempotent, so that is safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial

import stamina

from gateway import observability as obs
from gateway import settings
from gateway.errors import PermanentError, RetryableError
from gateway.events import Event
from gateway.handling import HandlerRegistry
from gateway.retry import RetryPolicy
from gateway.store.inbox import Inbox

log = logging.getLogger("gateway.worker")


@dataclass(frozen=True)
class WorkerOptions:
    """How one process runs events; the defaults are the settings' (``GATEWAY_…``)."""

    concurrency: int = settings.default("gateway_worker_concurrency")
    lease_seconds: float = settings.default("gateway_lease_seconds")
    handler_timeout: float = settings.default("gateway_handler_timeout_seconds")
    poll_seconds: float = settings.default("gateway_poll_seconds")
    shutdown_grace: float = settings.default("gateway_shutdown_grace_seconds")
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def from_settings(cls, configured: settings.StoreSettings) -> WorkerOptions:
        return cls(
            concurrency=configured.gateway_worker_concurrency,
            lease_seconds=configured.gateway_lease_seconds,
            handler_timeout=configured.gateway_handler_timeout_seconds,
            poll_seconds=configured.gateway_poll_seconds,
            shutdown_grace=configured.gateway_shutdown_grace_seconds,
            policy=RetryPolicy(
                base=configured.gateway_retry_base_seconds,
                cap=configured.gateway_retry_cap_seconds,
                max_attempts=configured.gateway_max_attempts,
            ),
        )


def worker_name() -> str:
    """Unique per process start: ``host:pid:random``, so a restarted process never inherits leases."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class _InHand:
    event: Event
    task: asyncio.Task[None]
    valid_until: float  # time.monotonic() by which the store's lease lapses, at the earliest
    abandoned: bool = False  # cancelled for want of a lease: neither renewed nor timed any more


class Worker:
    def __init__(
        self,
        inbox: Inbox,
        handlers: HandlerRegistry,
        options: WorkerOptions | None = None,
        *,
        name: str | None = None,
    ) -> None:
        self.inbox = inbox
        self.handlers = dict(handlers)
        self.options = options or WorkerOptions()
        self.name = name or worker_name()
        self._in_hand: dict[int, _InHand] = {}
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._unsubscribe = inbox.on_enqueue(self._wake.set)

    def stop(self) -> None:
        """Stop claiming; :meth:`run` then finishes or releases in-flight work and returns."""
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Claim and handle events until :meth:`stop` is called."""
        log.info("worker started", extra={"worker": self.name, "concurrency": self.options.concurrency})
        heartbeat = asyncio.create_task(self._heartbeat(), name=f"heartbeat {self.name}")
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                claimed = await self._claim_some()
                if claimed and self._free() > 0:
                    continue  # there may be more ready right now
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.options.poll_seconds)
        finally:
            await self._shut_down()
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            self._unsubscribe()
            log.info("worker stopped", extra={"worker": self.name})

    async def run_until_idle(self, *, settle: float = 0.05, limit: float = 60.0) -> None:
        """Handle events until none is running and none is ready (tests and ``demo``)."""
        deadline = time.monotonic() + limit
        idle_since: float | None = None
        while time.monotonic() < deadline:
            claimed = await self._claim_some()
            if self._in_hand:
                tasks = [held.task for held in self._in_hand.values()]
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED, timeout=settle)
                idle_since = None
            elif claimed == 0:
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since >= settle:
                    return
                await asyncio.sleep(settle / 5)
        raise TimeoutError(f"worker still busy after {limit} s")

    def _free(self) -> int:
        return self.options.concurrency - len(self._in_hand)

    async def _claim_some(self) -> int:
        if self._free() <= 0:
            return 0
        asked_at = time.monotonic()  # the store's lease runs from a moment after this one
        try:
            events = await self.inbox.claim(
                self.name, self._free(), self.options.lease_seconds, self.options.policy
            )
        except Exception:
            log.exception("claiming events failed; will try again", extra={"worker": self.name})
            return 0
        if self._stopping.is_set():  # a claim that raced stop(): leave these to release_all
            return 0
        for event in events:
            earlier = self._in_hand.get(event.id)
            if earlier is not None:  # our own earlier attempt, whose lease lapsed while it ran
                log.warning("stopping an earlier run of an event claimed again", extra=_fields(earlier.event))
                earlier.task.cancel()
            task = asyncio.create_task(
                self._handle(event, after=earlier.task if earlier else None), name=f"event {event.id}"
            )
            self._in_hand[event.id] = _InHand(event, task, asked_at + self.options.lease_seconds)
            task.add_done_callback(partial(self._on_done, event.id))
        return len(events)

    def _on_done(self, event_id: int, task: asyncio.Task[None]) -> None:
        held = self._in_hand.get(event_id)
        if held is not None and held.task is task:  # not a later claim of the same event
            del self._in_hand[event_id]
        self._wake.set()

    async def _handle(self, event: Event, after: asyncio.Task[None] | None = None) -> None:
        if after is not None:
            await asyncio.wait([after])  # the earlier run, cancelled: let it unwind first
        started = time.time()
        try:
            outcome = await self._run_and_record(event, started)
        except Exception:
            log.exception("could not record the outcome; the event will run again", extra=_fields(event))
            return
        finally:
            obs.HANDLER_SECONDS.labels(kind=event.kind).observe(time.time() - started)
        log.info(
            "event handled",
            extra={**_fields(event), "outcome": outcome, "seconds": round(time.time() - started, 4)},
        )

    async def _run_and_record(self, event: Event, started: float) -> str:
        try:
            await self._run_handler(event)
        except RetryableError as exc:
            return await self._retry_or_bury(event, started, _describe(exc), exc.retry_after)
        except PermanentError as exc:
            await self._bury(event, started, _describe(exc), blocks=exc.block_conversation)
            return "dead"
        except TimeoutError:
            return await self._retry_or_bury(
                event, started, f"the handler did not finish within {self.options.handler_timeout} s", None
            )
        except Exception as exc:  # a bug or an unclassified failure: retry, loudly
            log.exception("handler raised an unexpected error", extra=_fields(event))
            return await self._retry_or_bury(event, started, _describe(exc), None)
        if await self._record(self.inbox.complete, event, self.name, started):
            obs.EVENTS_PROCESSED.labels(kind=event.kind).inc()
        else:
            log.warning(
                "lease lost before completion; another worker took the event over", extra=_fields(event)
            )
        return "done"

    async def _run_handler(self, event: Event) -> None:
        handler = self.handlers.get(event.kind)
        if handler is None:
            raise PermanentError(f"no handler is registered for kind {event.kind!r}")
        async with asyncio.timeout(self.options.handler_timeout):
            await handler(event)

    async def _retry_or_bury(self, event: Event, started: float, error: str, hint: float | None) -> str:
        policy = self.options.policy
        if policy.exhausted(event.attempts):
            await self._bury(
                event, started, f"gave up after {event.attempts} attempts: {error}", blocks=False
            )
            return "dead"
        delay = policy.delay(event.attempts, at_least=hint)
        if await self._record(self.inbox.retry_later, event, self.name, started, delay, error):
            obs.EVENTS_RETRIED.labels(kind=event.kind).inc()
        log.warning(
            "event will be retried", extra={**_fields(event), "delay": round(delay, 3), "error": error}
        )
        return "retry"

    async def _bury(self, event: Event, started: float, error: str, *, blocks: bool) -> None:
        if await self._record(self.inbox.dead_letter, event, self.name, started, error, blocks=blocks):
            obs.EVENTS_DEAD.labels(kind=event.kind).inc()
        log.error("event dead-lettered", extra={**_fields(event), "error": error, "blocks": blocks})

    async def _record(self, write: Callable[..., Awaitable[bool]], *args: object, **kwargs: object) -> bool:
        """Write an outcome, riding out a short store outage; give up well before the lease ends."""
        async for attempt in stamina.retry_context(
            on=Exception, attempts=5, timeout=self.options.lease_seconds / 2, wait_initial=0.1, wait_max=2.0
        ):
            with attempt:
                return await write(*args, **kwargs)
        raise AssertionError("unreachable: stamina re-raises the last failure")

    async def _heartbeat(self) -> None:
        """Renew the leases in hand every third of a lease; stop what can no longer be renewed.

        Each claim is given up ``margin`` (a sixth of a lease) before it could lapse in the
        store, whether or not the store has answered by then: a heartbeat hanging on a
        partitioned network must not keep a handler running after another worker took over.
        """
        lease = self.options.lease_seconds
        interval, margin = lease / 3, lease / 6
        while True:
            await asyncio.sleep(min(interval, self._time_left(margin)))
            held = self._live_claims()
            asked_at = time.monotonic()
            try:
                async with asyncio.timeout(self._time_left(margin) if held else None):
                    still_ours = await self.inbox.heartbeat(self.name, [h.event for h in held], lease)
            except Exception:
                log.exception("lease heartbeat failed", extra={"worker": self.name})
            else:
                for claim in held:
                    if claim.event.id in still_ours:
                        claim.valid_until = asked_at + lease
                    else:
                        self._abandon(claim, "lease lost: another worker may run the event now")
            for claim in self._live_claims():
                if claim.valid_until - margin <= time.monotonic():
                    self._abandon(claim, "lease about to lapse: the store did not renew it in time")

    def _time_left(self, margin: float) -> float:
        """Seconds until the first claim in hand must be given up (a lease's worth if none)."""
        first = min((claim.valid_until for claim in self._live_claims()), default=None)
        if first is None:
            return self.options.lease_seconds
        return max(0.0, first - margin - time.monotonic())

    def _live_claims(self) -> list[_InHand]:
        return [claim for claim in self._in_hand.values() if not claim.abandoned]

    def _abandon(self, claim: _InHand, reason: str) -> None:
        """Stop a handler whose lease is gone, so an event never runs in two places at once."""
        claim.abandoned = True
        if not claim.task.done():
            log.warning("abandoning an event", extra={**_fields(claim.event), "reason": reason})
            claim.task.cancel()

    async def _shut_down(self) -> None:
        tasks = [held.task for held in self._in_hand.values()]
        if tasks:
            log.info("finishing in-flight events", extra={"worker": self.name, "count": len(tasks)})
            await asyncio.wait(tasks, timeout=self.options.shutdown_grace)
        for held in list(self._in_hand.values()):
            held.task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await self.inbox.release_all(self.name)
        except Exception:
            log.exception(
                "could not release claims; they expire with their lease", extra={"worker": self.name}
            )


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, (RetryableError, PermanentError)) else f"{type(exc).__name__}: {text}"


def _fields(event: Event) -> dict[str, object]:
    return {
        "event_id": event.id,
        "kind": event.kind,
        "conversation": event.conversation_key,
        "attempt": event.attempts,
    }
