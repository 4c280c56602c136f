"""The inbox: store events durably, hand them out under leases, record how each attempt ended.

Every method is one transaction. The SQL lives in ``queries.sql``; this module only decides
which statements run together.

Enqueueing uses *group commit*: while one transaction is being written, requests that arrive
queue up and go together in the next one. Each caller still waits for the commit that holds
its own event before it may acknowledge, so nothing is acknowledged that is not on disk; but
the store pays for one commit per batch instead of one per request, which is what keeps the
webhook endpoints fast (see ``bench/ingest.py``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

from gateway import observability as obs
from gateway.events import (
    EVENT_STATES,
    Attempt,
    EnqueueResult,
    Event,
    EventDetail,
    EventState,
    EventSummary,
    InboxStats,
    NewEvent,
)
from gateway.store.database import Database, Row, Transaction

Clock = Callable[[], float]


@dataclass
class _Waiting:
    event: NewEvent
    payload: str  # serialised once, by the caller, so a bad payload fails in its own request
    result: asyncio.Future[EnqueueResult]


class Inbox:
    def __init__(self, database: Database, *, clock: Clock = time.time) -> None:
        self.database = database
        self._clock = clock
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[], None]] = []

    # -- writing ---------------------------------------------------------------------------

    async def enqueue(
        self, source: str, dedupe_key: str, kind: str, conversation_key: str, payload: dict[str, Any]
    ) -> EnqueueResult:
        """Store one event (or find its twin); return once it is committed."""
        [result] = await self.enqueue_many([NewEvent(source, dedupe_key, kind, conversation_key, payload)])
        return result

    async def enqueue_many(self, events: Sequence[NewEvent]) -> list[EnqueueResult]:
        """Store several events in one transaction: all are committed, or none (e.g. one SOAP POST)."""
        loop = asyncio.get_running_loop()
        waiting = [_Waiting(event, _serialise(event.payload), loop.create_future()) for event in events]
        self._waiting.extend(waiting)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_batches(), name="inbox-group-commit")
        return [await item.result for item in waiting]

    def on_enqueue(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after new events commit (the embedded worker wakes up at once)."""
        self._listeners.append(listener)

    async def _write_batches(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            now = self._clock()
            try:
                results = await self.database.run(partial(_insert_all, batch=batch, now=now))
            except Exception as exc:  # every waiting caller learns of the failure
                for item in batch:
                    if not item.result.done():
                        item.result.set_exception(exc)
                continue
            for item, result in zip(batch, results, strict=True):
                counter = obs.EVENTS_RECEIVED if result.created else obs.EVENTS_DUPLICATE
                counter.labels(source=item.event.source, kind=item.event.kind).inc()
                if not item.result.done():
                    item.result.set_result(result)
            if any(result.created for result in results):
                for listener in self._listeners:
                    listener()

    # -- claiming and finishing -------------------------------------------------------------

    async def claim(self, owner: str, limit: int, lease_seconds: float) -> list[Event]:
        """Take up to ``limit`` events, at most one per conversation, each the head of its conversation."""

        def work(tx: Transaction) -> list[Event]:
            now = self._clock()
            expires_at = now + lease_seconds
            tx.execute("reap_expired_claims", now=now)
            claimed: list[Event] = []
            for candidate in tx.fetchall("claim_candidates", now=now, limit=limit):
                key = candidate["conversation_key"]
                if (
                    tx.fetchone(
                        "take_conversation_lease",
                        conversation_key=key,
                        owner=owner,
                        expires_at=expires_at,
                        now=now,
                    )
                    is None
                ):
                    continue
                row = tx.fetchone(
                    "claim_event", id=candidate["id"], owner=owner, now=now, expires_at=expires_at
                )
                if row is None:
                    tx.execute("release_conversation", conversation_key=key, owner=owner)
                    continue
                claimed.append(_event(row))
            return claimed

        return await self.database.run(work)

    async def heartbeat(self, owner: str, lease_seconds: float) -> None:
        """Extend every lease ``owner`` holds, so long handlers are not taken over."""

        def work(tx: Transaction) -> None:
            expires_at = self._clock() + lease_seconds
            tx.execute("extend_event_leases", owner=owner, expires_at=expires_at)
            tx.execute("extend_conversation_leases", owner=owner, expires_at=expires_at)

        await self.database.run(work)

    async def complete(self, event: Event, owner: str, started_at: float) -> bool:
        """Mark done. False if the lease was lost meanwhile (another worker took the event over)."""
        return await self._finish(event, owner, started_at, "done", None, finish_done={})

    async def retry_later(
        self, event: Event, owner: str, started_at: float, delay: float, error: str
    ) -> bool:
        run_after = self._clock() + delay
        return await self._finish(
            event, owner, started_at, "retry", error, finish_retry={"run_after": run_after, "error": error}
        )

    async def dead_letter(
        self, event: Event, owner: str, started_at: float, error: str, *, blocks: bool
    ) -> bool:
        return await self._finish(
            event, owner, started_at, "dead", error, finish_dead={"error": error, "blocks": int(blocks)}
        )

    async def _finish(
        self,
        event: Event,
        owner: str,
        started_at: float,
        outcome: str,
        error: str | None,
        **statement: dict[str, Any],
    ) -> bool:
        [(name, params)] = statement.items()

        def work(tx: Transaction) -> bool:
            now = self._clock()
            changed = tx.execute(name, id=event.id, owner=owner, now=now, **params)
            if changed:
                tx.execute(
                    "record_attempt",
                    event_id=event.id,
                    attempt=event.attempts,
                    worker=owner,
                    started_at=started_at,
                    now=now,
                    outcome=outcome,
                    error=error,
                )
            tx.execute("release_conversation", conversation_key=event.conversation_key, owner=owner)
            return changed > 0

        return await self.database.run(work)

    async def release_all(self, owner: str) -> None:
        """Give back every claim ``owner`` holds (graceful shutdown)."""

        def work(tx: Transaction) -> None:
            tx.execute("release_owned_events", owner=owner)
            tx.execute("release_owned_conversations", owner=owner)

        await self.database.run(work)

    # -- operators ---------------------------------------------------------------------------

    async def list(
        self, *, state: EventState | None = None, conversation_key: str | None = None, limit: int = 100
    ) -> list[EventSummary]:
        rows = await self.database.run(
            lambda tx: tx.fetchall("list_events", state=state, conversation_key=conversation_key, limit=limit)
        )
        return [_summary(row) for row in rows]

    async def show(self, event_id: int) -> EventDetail | None:
        def work(tx: Transaction) -> tuple[Row | None, list[Row]]:
            return tx.fetchone("get_event", id=event_id), tx.fetchall("list_attempts", id=event_id)

        row, attempts = await self.database.run(work)
        if row is None:
            return None
        return EventDetail(
            summary=_summary(row),
            dedupe_key=row["dedupe_key"],
            payload=json.loads(row["payload"]),
            lease_owner=row["lease_owner"],
            attempts=[Attempt(**attempt) for attempt in attempts],
        )

    async def retry_dead(self, event_id: int) -> bool:
        """Bring one dead event back to pending with a fresh attempt budget."""
        row = await self.database.run(
            lambda tx: tx.fetchone("retry_dead_event", id=event_id, now=self._clock())
        )
        self._notify_if(row is not None)
        return row is not None

    async def retry_all_dead(self) -> int:
        rows = await self.database.run(lambda tx: tx.fetchall("retry_all_dead", now=self._clock()))
        self._notify_if(bool(rows))
        return len(rows)

    async def drop(self, event_id: int) -> bool:
        """Give up on a pending or dead event for good; its dedupe key keeps swallowing redeliveries."""
        row = await self.database.run(lambda tx: tx.fetchone("drop_event", id=event_id, now=self._clock()))
        return row is not None

    async def stats(self) -> InboxStats:
        def work(tx: Transaction) -> tuple[list[Row], Row | None]:
            return tx.fetchall("count_by_state"), tx.fetchone("oldest_pending")

        rows, oldest = await self.database.run(work)
        counts: dict[EventState, int] = dict.fromkeys(EVENT_STATES, 0)
        for row in rows:
            counts[cast(EventState, row["state"])] = int(row["n"])
        oldest_at = oldest["oldest"] if oldest else None
        age = max(0.0, self._clock() - float(oldest_at)) if oldest_at is not None else 0.0
        return InboxStats(counts=counts, oldest_pending_age=age)

    def _notify_if(self, changed: bool) -> None:
        if changed:
            for listener in self._listeners:
                listener()


# SQLite allows 32,766 bound parameters per statement; 5 per event keeps far below that.
_ROWS_PER_STATEMENT = 500


def _insert_all(tx: Transaction, batch: list[_Waiting], now: float) -> list[EnqueueResult]:
    results: list[EnqueueResult] = []
    for start in range(0, len(batch), _ROWS_PER_STATEMENT):
        results.extend(_insert_chunk(tx, batch[start : start + _ROWS_PER_STATEMENT], now))
    return results


def _serialise(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def _insert_chunk(tx: Transaction, items: list[_Waiting], now: float) -> list[EnqueueResult]:
    events = [item.event for item in items]
    rows = [
        {
            "source": item.event.source,
            "dedupe_key": item.event.dedupe_key,
            "kind": item.event.kind,
            "conversation_key": item.event.conversation_key,
            "payload": item.payload,
        }
        for item in items
    ]
    inserted = {
        (r["source"], r["dedupe_key"]): int(r["id"])
        for r in tx.fetchall_batch("enqueue", "enqueue_row", rows, now=now)
    }
    known: dict[tuple[str, str], int] = {}
    results: list[EnqueueResult] = []
    for event in events:
        key = (event.source, event.dedupe_key)
        if key in inserted:  # the first of its key in this batch is the one stored
            known[key] = inserted.pop(key)
            results.append(EnqueueResult(id=known[key], created=True))
            continue
        if key not in known:  # stored by an earlier transaction
            row = tx.fetchone("find_by_dedupe_key", source=event.source, dedupe_key=event.dedupe_key)
            assert row is not None, "ON CONFLICT DO NOTHING implies the row exists"
            known[key] = int(row["id"])
        results.append(EnqueueResult(id=known[key], created=False))
    return results


def _event(row: Row) -> Event:
    return Event(
        id=int(row["id"]),
        source=row["source"],
        dedupe_key=row["dedupe_key"],
        kind=row["kind"],
        conversation_key=row["conversation_key"],
        payload=json.loads(row["payload"]),
        attempts=int(row["attempts"]),
        received_at=float(row["received_at"]),
    )


def _summary(row: Row) -> EventSummary:
    return EventSummary(
        id=int(row["id"]),
        source=row["source"],
        kind=row["kind"],
        conversation_key=row["conversation_key"],
        state=row["state"],
        attempts=int(row["attempts"]),
        received_at=float(row["received_at"]),
        run_after=float(row["run_after"]),
        finished_at=row["finished_at"],
        last_error=row["last_error"],
        blocks_conversation=bool(row["blocks_conversation"]),
    )
