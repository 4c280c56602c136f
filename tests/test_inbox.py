"""The inbox stores every event once, and hands out only the head of each conversation."""

from __future__ import annotations

import asyncio

import pytest

from gateway.events import NewEvent
from gateway.store import Store

pytestmark = pytest.mark.anyio


async def test_enqueue_reports_a_new_event_then_recognises_its_redelivery(store: Store) -> None:
    first = await store.inbox.enqueue("salesforce", "04l001", "case.owner_changed", "500A", {"owner": "005X"})
    again = await store.inbox.enqueue("salesforce", "04l001", "case.owner_changed", "500A", {"owner": "005Y"})
    assert first.created and not again.created
    assert again.id == first.id
    detail = await store.inbox.show(first.id)
    assert detail is not None and detail.payload == {"owner": "005X"}  # the first copy wins


async def test_same_dedupe_key_from_another_source_is_a_different_event(store: Store) -> None:
    a = await store.inbox.enqueue("salesforce", "k1", "kind", "c", {})
    b = await store.inbox.enqueue("tencent", "k1", "kind", "c", {})
    assert a.created and b.created and a.id != b.id


async def test_one_thousand_concurrent_enqueues_of_one_key_store_one_event(store: Store) -> None:
    results = await asyncio.gather(
        *(
            store.inbox.enqueue("tencent", "group-1:seq-7", "im.message", "group-1", {"n": n})
            for n in range(1000)
        )
    )
    assert sum(result.created for result in results) == 1
    assert len({result.id for result in results}) == 1
    assert len(await store.inbox.list(limit=10_000)) == 1


async def test_enqueue_many_stores_a_batch_atomically_and_flags_duplicates(store: Store) -> None:
    batch = [
        NewEvent("salesforce", f"04l{n}", "case.owner_changed", f"500{n % 2}", {"n": n}) for n in range(3)
    ]
    first = await store.inbox.enqueue_many(batch)
    second = await store.inbox.enqueue_many(
        [*batch, NewEvent("salesforce", "04l9", "case.closed", "5009", {})]
    )
    assert [r.created for r in first] == [True, True, True]
    assert [r.created for r in second] == [False, False, False, True]


async def test_a_payload_that_is_not_json_is_refused_before_anything_is_stored(store: Store) -> None:
    with pytest.raises(TypeError):
        await store.inbox.enqueue("s", "k", "kind", "c", {"when": object()})
    assert await store.inbox.list() == []


async def test_claim_takes_only_the_oldest_event_of_each_conversation(store: Store) -> None:
    for n in range(3):
        await store.inbox.enqueue("s", f"a{n}", "kind", "case-a", {})
        await store.inbox.enqueue("s", f"b{n}", "kind", "case-b", {})
    claimed = await store.inbox.claim("w1", 10, lease_seconds=30)
    assert sorted((e.conversation_key, e.dedupe_key) for e in claimed) == [("case-a", "a0"), ("case-b", "b0")]
    assert await store.inbox.claim("w2", 10, lease_seconds=30) == []  # both conversations are held


async def test_the_next_event_of_a_conversation_waits_until_the_previous_one_finishes(store: Store) -> None:
    await store.inbox.enqueue("s", "1", "kind", "case", {})
    await store.inbox.enqueue("s", "2", "kind", "case", {})
    [first] = await store.inbox.claim("w1", 10, lease_seconds=30)
    assert await store.inbox.claim("w1", 10, lease_seconds=30) == []
    assert await store.inbox.complete(first, "w1", started_at=0.0)
    [second] = await store.inbox.claim("w2", 10, lease_seconds=30)
    assert second.dedupe_key == "2"


async def test_a_claim_whose_lease_expired_is_taken_over_by_another_worker(store: Store) -> None:
    await store.inbox.enqueue("s", "1", "kind", "case", {})
    [held] = await store.inbox.claim("crashed-worker", 10, lease_seconds=0.05)
    await asyncio.sleep(0.1)
    [retaken] = await store.inbox.claim("w2", 10, lease_seconds=30)
    assert retaken.id == held.id and retaken.attempts == 2
    assert not await store.inbox.complete(held, "crashed-worker", started_at=0.0)  # its lease is gone
    assert await store.inbox.complete(retaken, "w2", started_at=0.0)


async def test_a_heartbeat_keeps_a_long_claim_from_being_taken_over(store: Store) -> None:
    await store.inbox.enqueue("s", "1", "kind", "case", {})
    await store.inbox.claim("w1", 10, lease_seconds=0.2)
    for _ in range(4):
        await asyncio.sleep(0.1)
        await store.inbox.heartbeat("w1", lease_seconds=0.2)
        assert await store.inbox.claim("w2", 10, lease_seconds=30) == []


async def test_a_retry_is_not_claimed_before_its_time(store: Store) -> None:
    await store.inbox.enqueue("s", "1", "kind", "case", {})
    [event] = await store.inbox.claim("w1", 10, lease_seconds=30)
    await store.inbox.retry_later(event, "w1", 0.0, delay=0.2, error="Salesforce said UNABLE_TO_LOCK_ROW")
    assert await store.inbox.claim("w1", 10, lease_seconds=30) == []
    await asyncio.sleep(0.25)
    [again] = await store.inbox.claim("w1", 10, lease_seconds=30)
    assert again.attempts == 2


async def test_a_dead_event_lets_later_events_of_its_conversation_run(store: Store) -> None:
    await store.inbox.enqueue("s", "1", "kind", "case", {})
    await store.inbox.enqueue("s", "2", "kind", "case", {})
    [event] = await store.inbox.claim("w1", 10, lease_seconds=30)
    await store.inbox.dead_letter(event, "w1", 0.0, "no such group", blocks=False)
    [next_event] = await store.inbox.claim("w1", 10, lease_seconds=30)
    assert next_event.dedupe_key == "2"


async def test_a_blocking_dead_event_holds_its_conversation_until_an_operator_acts(store: Store) -> None:
    await store.inbox.enqueue("s", "1", "kind", "case", {})
    await store.inbox.enqueue("s", "2", "kind", "case", {})
    await store.inbox.enqueue("s", "3", "kind", "other", {})
    [first, other] = sorted(await store.inbox.claim("w1", 10, lease_seconds=30), key=lambda e: e.id)
    await store.inbox.dead_letter(first, "w1", 0.0, "state would be corrupted", blocks=True)
    await store.inbox.complete(other, "w1", 0.0)
    assert await store.inbox.claim("w1", 10, lease_seconds=30) == []
    assert await store.inbox.drop(first.id)
    [released] = await store.inbox.claim("w1", 10, lease_seconds=30)
    assert released.dedupe_key == "2"


async def test_retrying_a_dead_event_gives_it_a_fresh_budget(store: Store) -> None:
    await store.inbox.enqueue("s", "1", "kind", "case", {})
    [event] = await store.inbox.claim("w1", 10, lease_seconds=30)
    await store.inbox.dead_letter(event, "w1", 0.0, "permanent", blocks=False)
    assert [e.state for e in await store.inbox.list(state="dead")] == ["dead"]
    assert await store.inbox.retry_dead(event.id)
    assert not await store.inbox.retry_dead(event.id)  # no longer dead
    [again] = await store.inbox.claim("w1", 10, lease_seconds=30)
    assert again.attempts == 1


async def test_release_all_hands_claims_back_at_once(store: Store) -> None:
    await store.inbox.enqueue("s", "1", "kind", "case", {})
    await store.inbox.claim("stopping-worker", 10, lease_seconds=300)
    await store.inbox.release_all("stopping-worker")
    [event] = await store.inbox.claim("w2", 10, lease_seconds=30)
    assert event.dedupe_key == "1"


async def test_stats_count_states_and_age_the_oldest_unfinished_event(store: Store) -> None:
    await store.inbox.enqueue("s", "1", "kind", "a", {})
    await store.inbox.enqueue("s", "2", "kind", "b", {})
    [first, _] = sorted(await store.inbox.claim("w1", 10, lease_seconds=30), key=lambda e: e.id)
    await store.inbox.complete(first, "w1", 0.0)
    await asyncio.sleep(0.05)
    stats = await store.inbox.stats()
    assert stats.counts == {"pending": 0, "running": 1, "done": 1, "dead": 0}
    assert stats.oldest_pending_age >= 0.05


async def test_show_lists_each_attempt_with_its_outcome(store: Store) -> None:
    await store.inbox.enqueue("s", "1", "kind", "case", {"x": 1})
    [event] = await store.inbox.claim("w1", 10, lease_seconds=30)
    await store.inbox.retry_later(event, "w1", 0.0, delay=0, error="timeout")
    [event] = await store.inbox.claim("w1", 10, lease_seconds=30)
    await store.inbox.complete(event, "w1", 0.0)
    detail = await store.inbox.show(event.id)
    assert detail is not None
    assert [(a.attempt, a.outcome, a.error) for a in detail.attempts] == [
        (1, "retry", "timeout"),
        (2, "done", None),
    ]


async def test_the_store_reports_ready_only_once_migrated(database_url: str) -> None:
    from gateway.store import open_store

    fresh = open_store(database_url)
    try:
        assert not await fresh.is_ready()
        assert [m.version for m in await fresh.migrate()] == [1]
        assert await fresh.migrate() == []  # idempotent
        assert await fresh.is_ready()
    finally:
        await fresh.aclose()


async def test_a_dropped_event_still_swallows_its_redeliveries(store: Store) -> None:
    first = await store.inbox.enqueue("salesforce", "04l1", "case.closed", "500A", {})
    assert await store.inbox.drop(first.id)
    again = await store.inbox.enqueue("salesforce", "04l1", "case.closed", "500A", {})
    assert not again.created and again.id == first.id
