"""Claims: hand each worker the head of a conversation under a lease, and record how it ended.

Each function here is one transaction's worth of work, run by :class:`gateway.store.Inbox` on a
store thread. Two leases guard every running event: the event's own (so a dead worker's event
goes back to the queue) and its conversation's (so no two events of one conversation ever run
at once, whichever replica claims them).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from gateway.events import Event
from gateway.retry import RetryPolicy
from gateway.store.database import Row, Transaction


def claim(
    tx: Transaction, now: float, *, owner: str, limit: int, lease_seconds: float, policy: RetryPolicy
) -> list[Event]:
    recover_lost_claims(tx, now, policy)
    expires_at = now + lease_seconds
    claimed: list[Event] = []
    for candidate in tx.fetchall("claim_candidates", now=now, limit=limit):
        key = candidate["conversation_key"]
        lease = tx.fetchone(
            "take_conversation_lease", conversation_key=key, owner=owner, expires_at=expires_at, now=now
        )
        if lease is None:
            continue
        row = tx.fetchone("claim_event", id=candidate["id"], owner=owner, now=now, expires_at=expires_at)
        if row is None:
            tx.execute("release_conversation", conversation_key=key, owner=owner)
            continue
        claimed.append(event_from_row(row))
    return claimed


def recover_lost_claims(tx: Transaction, now: float, policy: RetryPolicy) -> None:
    """Requeue events whose worker vanished, with backoff; bury those that keep killing workers.

    The lost attempt counts: a handler that crashes its process every time must end in the
    dead-letter state like any other repeated failure, not loop forever.
    """
    for row in tx.fetchall("expired_claims", now=now):
        attempts = int(row["attempts"])
        error = (
            f"the worker handling attempt {attempts} stopped without finishing (crash, kill or lost lease)"
        )
        if policy.exhausted(attempts):
            error = f"gave up after {attempts} attempts: {error}"
            changed = tx.execute("bury_lost_claim", id=row["id"], now=now, error=error)
        else:
            run_after = now + policy.delay(attempts)
            changed = tx.execute(
                "requeue_lost_claim", id=row["id"], now=now, run_after=run_after, error=error
            )
        if changed:
            tx.execute(
                "record_attempt",
                event_id=row["id"],
                attempt=attempts,
                worker=row["lease_owner"] or "?",
                started_at=row["started_at"] or now,
                now=now,
                outcome="lost",
                error=error,
            )
            tx.execute(
                "release_conversation",
                conversation_key=row["conversation_key"],
                owner=row["lease_owner"] or "",
            )


def heartbeat(
    tx: Transaction, now: float, *, owner: str, in_hand: Collection[Event], lease_seconds: float
) -> set[int]:
    """Extend the leases of the claims still in hand; return the ids whose lease was still ours."""
    expires_at = now + lease_seconds
    held: set[int] = set()
    for event in in_hand:
        extended = tx.fetchone(
            "extend_event_lease", id=event.id, owner=owner, attempt=event.attempts, expires_at=expires_at
        )
        if extended is not None:
            held.add(event.id)
            tx.execute(
                "extend_conversation_lease",
                owner=owner,
                conversation_key=event.conversation_key,
                expires_at=expires_at,
            )
    return held


def finish(
    tx: Transaction,
    now: float,
    *,
    event: Event,
    owner: str,
    started_at: float,
    outcome: str,
    error: str | None = None,
    delay: float = 0.0,
    blocks: bool = False,
) -> bool:
    """Record the outcome of the attempt ``owner`` made; False if its lease had been lost.

    Only the claim that is current may finish: ``event.attempts`` is its fencing token (see
    ``extend_event_lease``), so a late outcome from an earlier attempt changes nothing.
    """
    claim = {"id": event.id, "owner": owner, "attempt": event.attempts}
    if outcome == "done":
        changed = tx.execute("finish_done", **claim, now=now)
    elif outcome == "retry":
        changed = tx.execute("finish_retry", **claim, run_after=now + delay, error=error)
    else:
        changed = tx.execute("finish_dead", **claim, now=now, error=error, blocks=int(blocks))
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


def release_all(tx: Transaction, now: float, *, owner: str) -> None:
    """Hand back every claim ``owner`` holds, giving the attempt back (nothing failed)."""
    tx.execute("record_released_attempts", owner=owner, now=now)
    tx.execute("release_owned_events", owner=owner)
    tx.execute("release_owned_conversations", owner=owner)


def event_from_row(row: Row) -> Event:
    payload: dict[str, Any] = json.loads(row["payload"])
    return Event(
        id=int(row["id"]),
        source=row["source"],
        dedupe_key=row["dedupe_key"],
        kind=row["kind"],
        conversation_key=row["conversation_key"],
        payload=payload,
        attempts=int(row["attempts"]),
        received_at=float(row["received_at"]),
    )
