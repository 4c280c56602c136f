"""The operator's view of the inbox: what ``tim-gateway events …`` prints.

Output is plain text for people (aligned columns, local-free UTC times) with ``--json`` for
scripts. Exit codes: 0 done, 1 no such event or nothing to do.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable

from gateway.events import EventDetail, EventState, EventSummary
from gateway.store import Store
from gateway.store.retention import MINIMUM_RETENTION_DAYS

Print = Callable[[str], None]


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(timestamp)) + "Z"


def _one_line(text: str | None, width: int = 60) -> str:
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


async def list_events(
    store: Store, out: Print, *, state: EventState | None, conversation: str | None, limit: int, as_json: bool
) -> int:
    events = await store.inbox.list(state=state, conversation_key=conversation, limit=limit)
    if as_json:
        out(json.dumps([dataclasses.asdict(event) for event in events], indent=2))
        return 0
    if not events:
        out("no events")
        return 0
    out(f"{'ID':>8}  {'STATE':<8} {'TRIES':>5}  {'KIND':<28} {'CONVERSATION':<20} {'RECEIVED':<21} ERROR")
    for event in events:
        out(_row(event))
    return 0


def _row(event: EventSummary) -> str:
    state = event.state + ("!" if event.blocks_conversation else "")
    return (
        f"{event.id:>8}  {state:<8} {event.attempts:>5}  {event.kind:<28} {event.conversation_key:<20} "
        f"{_when(event.received_at):<21} {_one_line(event.last_error)}"
    )


async def show_event(store: Store, out: Print, event_id: int, *, as_json: bool) -> int:
    detail = await store.inbox.show(event_id)
    if detail is None:
        out(f"no event with id {event_id}")
        return 1
    if as_json:
        out(json.dumps(dataclasses.asdict(detail), indent=2))
        return 0
    for line in _describe(detail):
        out(line)
    return 0


def _describe(detail: EventDetail) -> list[str]:
    event = detail.summary
    lines = [
        f"event {event.id}",
        f"  source        {event.source}",
        f"  dedupe key    {detail.dedupe_key}",
        f"  kind          {event.kind}",
        f"  conversation  {event.conversation_key}",
        f"  state         {event.state}"
        + ("  (blocks its conversation)" if event.blocks_conversation else ""),
        f"  attempts      {event.attempts}",
        f"  received      {_when(event.received_at)}",
        f"  next run      {_when(event.run_after) if event.state == 'pending' else '-'}",
        f"  finished      {_when(event.finished_at)}",
        f"  held by       {detail.lease_owner or '-'}",
        f"  last error    {event.last_error or '-'}",
        "  payload",
        *("    " + line for line in json.dumps(detail.payload, indent=2, ensure_ascii=False).splitlines()),
    ]
    if detail.attempts:
        lines.append("  attempts")
        for attempt in detail.attempts:
            took = attempt.finished_at - attempt.started_at
            lines.append(
                f"    #{attempt.attempt} {attempt.outcome:<8} {_when(attempt.started_at)} "
                f"{took:.3f}s by {attempt.worker}  {_one_line(attempt.error, 80)}"
            )
    return lines


async def retry(store: Store, out: Print, event_id: int | None, *, all_dead: bool) -> int:
    if all_dead:
        count = await store.inbox.retry_all_dead()
        out(f"{count} dead event(s) back to pending")
        return 0 if count else 1
    assert event_id is not None
    if await store.inbox.retry_dead(event_id):
        out(f"event {event_id} back to pending")
        return 0
    out(f"event {event_id} is not dead (or does not exist); nothing to retry")
    return 1


async def drop(store: Store, out: Print, event_id: int) -> int:
    if await store.inbox.drop(event_id):
        out(f"event {event_id} dropped; redeliveries of it will still be recognised and ignored")
        return 0
    out(f"event {event_id} is not pending or dead (or does not exist); nothing dropped")
    return 1


async def prune(store: Store, out: Print, older_than_days: float) -> int:
    # nan compares false with everything, so it would pass the floor below; on PostgreSQL
    # "older than nan days" matches every finished event.
    if not math.isfinite(older_than_days):
        out(
            f"refusing to prune: {older_than_days:g} is not a number of days "
            f"(give at least {MINIMUM_RETENTION_DAYS:g})"
        )
        return 2
    if older_than_days < MINIMUM_RETENTION_DAYS:
        out(
            f"refusing to prune events younger than {MINIMUM_RETENTION_DAYS:g} days: Salesforce "
            "redelivers for 24 hours, and a pruned event's redelivery would be handled again"
        )
        return 2
    removed = await store.inbox.prune(older_than_days * 86400)
    out(f"{removed} finished event(s) older than {older_than_days:g} days pruned")
    return 0
