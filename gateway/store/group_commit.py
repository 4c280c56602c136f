"""Group commit: many concurrent enqueues, one transaction, each caller answered after its commit.

While one batch is being written, requests that arrive queue up and go together in the next
one. Each caller still waits for the commit that holds its own events before it may acknowledge
anything, so nothing is acknowledged that is not on disk; but the store pays for one commit per
batch instead of one per request, which keeps the webhook endpoints fast (``bench/ingest.py``).

A batch mixes callers, so one caller's bad input must never fail another's: events are checked
before they join a batch, and if a batch still fails, each caller's events are retried in a
transaction of their own, so only the guilty caller (or, if the store is down, everyone) sees
the error.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from gateway import observability as obs
from gateway.events import EnqueueResult, NewEvent
from gateway.store.database import Database, Transaction
from gateway.store.payload_json import to_json

log = logging.getLogger("gateway.store")

# SQLite allows 32,766 bound parameters per statement; 7 per event (enqueue_row) keeps far below that.
_ROWS_PER_STATEMENT = 500


class InvalidEvent(ValueError):
    """The event cannot be stored as given (not JSON, not UTF-8, a NUL character)."""


@dataclass(slots=True)
class _Waiting:
    caller: int
    event: NewEvent
    payload: str  # serialised once, in the caller's own request
    result: asyncio.Future[EnqueueResult]


class GroupCommit:
    def __init__(self, database: Database, clock: Callable[[Transaction], float]) -> None:
        self._database = database
        self._clock = clock
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None
        self._callers = itertools.count()
        self.listeners: list[Callable[[], None]] = []

    async def enqueue(self, events: Sequence[NewEvent]) -> list[EnqueueResult]:
        loop = asyncio.get_running_loop()
        caller = next(self._callers)
        waiting = [_Waiting(caller, event, _checked(event), loop.create_future()) for event in events]
        self._waiting.extend(waiting)
        self._ensure_writer()
        return [await item.result for item in waiting]

    def enqueue_one(self, event: NewEvent) -> asyncio.Future[EnqueueResult]:
        """:meth:`enqueue` for the common case of one event per request: its result, to await.

        A plain function that hands back the future, rather than a coroutine awaiting it: every
        webhook request waits here for its commit, and a coroutine would add one more frame to
        suspend and resume on that path. :class:`InvalidEvent` is raised before anything waits.
        """
        item = _Waiting(
            next(self._callers), event, _checked(event), asyncio.get_running_loop().create_future()
        )
        self._waiting.append(item)
        self._ensure_writer()
        return item.result

    def _ensure_writer(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_batches(), name="inbox-group-commit")

    async def _write_batches(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await self._write(batch)
            except BaseException as exc:  # never leave a caller waiting for an answer
                for item in batch:
                    if not item.result.done():
                        item.result.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise

    async def _write(self, batch: list[_Waiting]) -> None:
        try:
            results = await self._database.run(partial(_insert_all, batch=batch, clock=self._clock))
        except Exception as exc:
            callers = {item.caller for item in batch}
            if len(callers) == 1:
                raise
            log.warning("a group-commit batch failed; writing each caller apart", extra={"error": str(exc)})
            for caller in sorted(callers):
                await self._write_alone([item for item in batch if item.caller == caller])
            return
        self._resolve(batch, results)

    async def _write_alone(self, items: list[_Waiting]) -> None:
        try:
            results = await self._database.run(partial(_insert_all, batch=items, clock=self._clock))
        except Exception as exc:
            for item in items:
                if not item.result.done():
                    item.result.set_exception(exc)
            return
        self._resolve(items, results)

    def _resolve(self, batch: list[_Waiting], results: list[EnqueueResult]) -> None:
        tally: Counter[tuple[bool, str, str]] = Counter()
        for item, result in zip(batch, results, strict=True):
            tally[result.created, item.event.source, item.event.kind] += 1
            if not item.result.done():  # the caller may have given up (cancelled) meanwhile
                item.result.set_result(result)
        for (created, source, kind), count in tally.items():  # one metric update per kind, not per event
            (obs.EVENTS_RECEIVED if created else obs.EVENTS_DUPLICATE).labels(source=source, kind=kind).inc(
                count
            )
        if any(result.created for result in results):
            for listener in self.listeners:
                listener()


def _checked(event: NewEvent) -> str:
    """The payload as stored JSON, or :class:`InvalidEvent` naming what is wrong."""
    try:
        payload = to_json(event.payload if isinstance(event.payload, dict) else dict(event.payload))
    except (TypeError, ValueError) as exc:
        raise InvalidEvent(f"payload is not JSON: {exc}") from exc
    for name, text in (
        ("source", event.source),
        ("dedupe_key", event.dedupe_key),
        ("kind", event.kind),
        ("conversation_key", event.conversation_key),
        ("payload", payload),
    ):
        if "\x00" in text:
            raise InvalidEvent(f"{name} contains a NUL character")
        if not text.isascii():  # only non-ASCII text can hold a lone surrogate
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise InvalidEvent(f"{name} is not valid Unicode text (lone surrogate)") from exc
    return payload


def _insert_all(
    tx: Transaction, batch: list[_Waiting], clock: Callable[[Transaction], float]
) -> list[EnqueueResult]:
    """Insert ``batch`` in the order it arrived, so ids follow arrival order within a conversation.

    On PostgreSQL, the conversation locks (taken in key order) make any two batches that share a
    conversation wait for each other, so concurrent inserts touch disjoint unique-index entries;
    only a dedupe key reused across conversations could make two of them deadlock, and
    PostgreSQL would then abort one, whose callers get an error and send again. Sorting the rows
    by key instead would rule that out, but would run one caller's events out of the order given.
    """
    now = clock(tx)
    insert_chunk = _insert_chunk_sqlite if tx.dialect == "sqlite" else _insert_chunk_returning
    if tx.dialect == "postgresql":
        tx.fetchall("lock_conversations", keys=sorted({item.event.conversation_key for item in batch}))
    results: list[EnqueueResult] = []
    for start in range(0, len(batch), _ROWS_PER_STATEMENT):
        results.extend(insert_chunk(tx, batch[start : start + _ROWS_PER_STATEMENT], now))
    return results


def _rows(items: list[_Waiting], now: float) -> list[dict[str, object]]:
    return [
        {
            "source": item.event.source,
            "dedupe_key": item.event.dedupe_key,
            "kind": item.event.kind,
            "conversation_key": item.event.conversation_key,
            "payload": item.payload,
            "received_at": now,
        }
        for item in items
    ]


def _insert_chunk_sqlite(tx: Transaction, items: list[_Waiting], now: float) -> list[EnqueueResult]:
    """Work out each event's id from the row count and the last id, reading nothing back.

    SQLite's AUTOINCREMENT gives each new row one more than the largest id the table ever
    held. So when every event is new (nearly always), the rows took consecutive ids in the
    order given. Otherwise (a redelivery; a skipped row may also use up an id) the rows this
    statement inserted are the newest in the table, and the redelivered keys are looked up.
    """
    inserted, last_id = tx.insert_batch("enqueue", "enqueue_row", _rows(items, now))
    if inserted == len(items):
        first_id = last_id - inserted + 1
        return [EnqueueResult(id=first_id + n, created=True) for n in range(inserted)]
    ids = {
        (row["source"], row["dedupe_key"]): int(row["id"])
        for row in tx.fetchall("newest_events", count=inserted)
    }
    new_ids = set(ids.values())
    results: list[EnqueueResult] = []
    for item in items:
        key = (item.event.source, item.event.dedupe_key)
        if key not in ids:  # stored by an earlier transaction
            ids[key] = _stored_id(tx, key)
        results.append(EnqueueResult(id=ids[key], created=ids[key] in new_ids))
        new_ids.discard(ids[key])  # a key repeated in this batch: its first copy is the stored one
    return results


def _insert_chunk_returning(tx: Transaction, items: list[_Waiting], now: float) -> list[EnqueueResult]:
    # RETURNING id, source, dedupe_key: one row per event actually inserted.
    inserted = {
        (source, key): int(id_)
        for id_, source, key in tx.fetchall_batch("enqueue", "enqueue_row", _rows(items, now))
    }
    known: dict[tuple[str, str], int] = {}
    results: list[EnqueueResult] = []
    for item in items:
        key = (item.event.source, item.event.dedupe_key)
        if key in inserted:  # the first of its key in this batch is the one stored
            known[key] = inserted.pop(key)
            results.append(EnqueueResult(id=known[key], created=True))
            continue
        if key not in known:  # stored by an earlier transaction
            known[key] = _stored_id(tx, key)
        results.append(EnqueueResult(id=known[key], created=False))
    return results


def _stored_id(tx: Transaction, key: tuple[str, str]) -> int:
    row = tx.fetchone("find_by_dedupe_key", source=key[0], dedupe_key=key[1])
    assert row is not None, "ON CONFLICT DO NOTHING implies the row exists"
    return int(row["id"])
