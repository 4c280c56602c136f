"""The inbox: store events durably, hand them out under leases, and let operators act on them.

Every method is one transaction on a store thread. The SQL lives in ``queries.sql``; writing
goes through :mod:`.group_commit`, claiming and finishing through :mod:`.claims`; this module
is the facade the rest of the gateway uses.

Time comes from one clock per store: the PostgreSQL server's (so replicas on several hosts
agree on when a lease expires), or this host's for SQLite, which only one host uses.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any, cast

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
from gateway.retry import RetryPolicy
from gateway.store import claims
from gateway.store.database import Database, Row, Transaction
from gateway.store.group_commit import GroupCommit

Clock = Callable[[], float]


class Inbox:
    def __init__(self, database: Database, *, clock: Clock = time.time) -> None:
        self.database = database
        self._clock = clock
        self._writer = GroupCommit(database, self._now)

    def _now(self, tx: Transaction) -> float:
        if tx.dialect == "sqlite":  # one host, one clock: no need to ask the database
            return self._clock()
        row = tx.fetchone("database_now")
        assert row is not None and row["now"] is not None, "PostgreSQL always knows the time"
        return float(row["now"])

    # -- writing ---------------------------------------------------------------------------

    async def enqueue(
        self, source: str, dedupe_key: str, kind: str, conversation_key: str, payload: dict[str, Any]
    ) -> EnqueueResult:
        """Store one event (or find its twin); return once it is committed."""
        return await self._writer.enqueue_one(NewEvent(source, dedupe_key, kind, conversation_key, payload))

    async def enqueue_many(self, events: Sequence[NewEvent]) -> list[EnqueueResult]:
        """Store several events in one transaction: all are committed, or none (e.g. one SOAP POST).

        Raises :class:`~gateway.store.group_commit.InvalidEvent` for input that cannot be stored,
        before anything is written.
        """
        return await self._writer.enqueue(events)

    def on_enqueue(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` after new events commit; returns a function that stops it."""
        self._writer.listeners.append(listener)
        return lambda: self._writer.listeners.remove(listener)

    def _notify(self) -> None:
        for listener in self._writer.listeners:
            listener()

    # -- claiming and finishing -------------------------------------------------------------

    async def claim(
        self, owner: str, limit: int, lease_seconds: float, policy: RetryPolicy | None = None
    ) -> list[Event]:
        """Take up to ``limit`` events, at most one per conversation, each the head of its conversation."""
        chosen = policy or RetryPolicy()
        return await self.database.run(
            lambda tx: claims.claim(
                tx, self._now(tx), owner=owner, limit=limit, lease_seconds=lease_seconds, policy=chosen
            )
        )

    async def heartbeat(self, owner: str, in_hand: Collection[Event], lease_seconds: float) -> set[int]:
        """Extend the leases of the claims in hand (as claimed); return the ids still ours."""
        if not in_hand:
            return set()
        return await self.database.run(
            lambda tx: claims.heartbeat(
                tx, self._now(tx), owner=owner, in_hand=in_hand, lease_seconds=lease_seconds
            )
        )

    async def complete(self, event: Event, owner: str, started_at: float) -> bool:
        """Mark done. False if the lease was lost meanwhile (another worker took the event over)."""
        return await self._finish(event, owner, started_at, outcome="done")

    async def retry_later(
        self, event: Event, owner: str, started_at: float, delay: float, error: str
    ) -> bool:
        return await self._finish(event, owner, started_at, outcome="retry", error=error, delay=delay)

    async def dead_letter(
        self, event: Event, owner: str, started_at: float, error: str, *, blocks: bool
    ) -> bool:
        return await self._finish(event, owner, started_at, outcome="dead", error=error, blocks=blocks)

    async def _finish(self, event: Event, owner: str, started_at: float, **outcome: Any) -> bool:
        return await self.database.run(
            lambda tx: claims.finish(
                tx, self._now(tx), event=event, owner=owner, started_at=started_at, **outcome
            )
        )

    async def release_all(self, owner: str) -> None:
        """Give back every claim ``owner`` holds (graceful shutdown)."""
        await self.database.run(lambda tx: claims.release_all(tx, self._now(tx), owner=owner))

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
            lambda tx: tx.fetchone("retry_dead_event", id=event_id, now=self._now(tx))
        )
        if row is not None:
            self._notify()
        return row is not None

    async def retry_all_dead(self) -> int:
        rows = await self.database.run(lambda tx: tx.fetchall("retry_all_dead", now=self._now(tx)))
        if rows:
            self._notify()
        return len(rows)

    async def drop(self, event_id: int) -> bool:
        """Give up on a pending or dead event for good; its dedupe key keeps swallowing redeliveries."""
        row = await self.database.run(lambda tx: tx.fetchone("drop_event", id=event_id, now=self._now(tx)))
        return row is not None

    async def prune(self, older_than_seconds: float, *, chunk: int = 1000) -> int:
        """Delete done events finished longer ago than ``older_than_seconds``; return how many.

        Their dedupe keys go with them, so the window must outlast every sender's redelivery
        (Salesforce retries for 24 hours): callers keep it to two days or more.
        """
        removed = 0
        while True:
            count = await self.database.run(
                lambda tx: tx.execute("prune_done", cutoff=self._now(tx) - older_than_seconds, limit=chunk)
            )
            removed += count
            if count < chunk:
                return removed

    async def stats(self) -> InboxStats:
        def work(tx: Transaction) -> tuple[list[Row], Row | None, float]:
            return tx.fetchall("count_by_state"), tx.fetchone("oldest_pending"), self._now(tx)

        rows, oldest, now = await self.database.run(work)
        counts: dict[EventState, int] = dict.fromkeys(EVENT_STATES, 0)
        for row in rows:
            counts[cast(EventState, row["state"])] = int(row["n"])
        oldest_at = oldest["oldest"] if oldest else None
        age = max(0.0, now - float(oldest_at)) if oldest_at is not None else 0.0
        return InboxStats(counts=counts, oldest_pending_age=age)


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
