"""The inbox stores every event once, and hands out only the head of each conversation."""

from __future__ import annotations

import asyncio
from types import MappingProxyType

import pytest

from gateway.events import EnqueueResult, NewEvent
from gateway.retry import RetryPolicy
from gateway.store import Store
from gateway.store.database import Transaction
from gateway.store.group_commit import InvalidEvent

pytestmark = pytest.mark.anyio

NO_WAIT = RetryPolicy(base=0.0, jitter=0)  # a lost claim is retaken at once


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


async def test_a_batch_longer_than_one_statement_keeps_every_event_and_its_payload(store: Store) -> None:
    # 1,100 events span three multi-row INSERTs; a key repeated inside the batch and one
    # stored earlier are both duplicates that point at the stored row.
    stored_before = await store.inbox.enqueue("tencent", "m-7", "im.message", "g-7", {"n": 7})
    batch = [NewEvent("tencent", f"m-{n}", "im.message", f"g-{n % 10}", {"n": n}) for n in range(1100)]
    batch.append(NewEvent("tencent", "m-3", "im.message", "g-3", {"n": "again"}))
    results = await store.inbox.enqueue_many(batch)
    assert [r.created for r in results] == [n != 7 for n in range(1100)] + [False]
    assert results[7].id == stored_before.id and results[-1].id == results[3].id
    assert len({r.id for r in results}) == 1100
    detail = await store.inbox.show(results[1099].id)
    assert detail is not None and detail.payload == {"n": 1099} and detail.dedupe_key == "m-1099"


async def test_events_of_one_conversation_in_one_batch_run_in_the_order_they_were_given(
    store: Store,
) -> None:
    # One Outbound Message can carry several notifications for one Case: the owner changed, then
    # the Case closed. Their ids, not their dedupe keys, decide the order they run in.
    keys = ["04l9", "04l10", "04lB", "04lA"]  # neither sorted nor reverse-sorted
    results = await store.inbox.enqueue_many(
        [NewEvent("salesforce", k, "case.changed", "500A", {}) for k in keys]
    )
    assert [r.id for r in results] == sorted(r.id for r in results)
    ran = []
    for _ in keys:
        [event] = await store.inbox.claim("w1", 10, lease_seconds=30)
        ran.append(event.dedupe_key)
        assert await store.inbox.complete(event, "w1", started_at=0.0)
    assert ran == keys


async def test_concurrent_callers_of_one_conversation_get_ids_in_the_order_they_called(store: Store) -> None:
    # The calls below land in one group-commit batch; the earlier caller's event must come first.
    keys = [f"seq-{n}" for n in (9, 10, 2, 11, 1)]
    results = await asyncio.gather(
        *(store.inbox.enqueue("tencent", k, "im.message", "g-1", {}) for k in keys)
    )
    assert [r.id for r in results] == sorted(r.id for r in results)


async def test_every_result_of_a_mixed_batch_names_the_row_stored_for_its_key(store: Store) -> None:
    # On SQLite, ids are worked out rather than read back, and a redelivery inside a batch
    # still uses up an id: the events after it must still be told their own.
    before = await store.inbox.enqueue("s", "old", "kind", "c", {})
    keys = ["new-1", "old", "new-2", "new-1", "new-3"]
    results = await store.inbox.enqueue_many([NewEvent("s", k, "kind", "c", {}) for k in keys])
    assert [r.created for r in results] == [True, False, True, False, True]
    assert results[1].id == before.id and results[3].id == results[0].id
    for key, result in zip(keys, results, strict=True):
        detail = await store.inbox.show(result.id)
        assert detail is not None and detail.dedupe_key == key
    again = await store.inbox.enqueue_many([NewEvent("s", k, "kind", "c", {}) for k in ("new-3", "old")])
    assert [(r.id, r.created) for r in again] == [(results[4].id, False), (before.id, False)]


async def test_a_payload_that_is_not_json_is_refused_before_anything_is_stored(store: Store) -> None:
    with pytest.raises(InvalidEvent, match="payload is not JSON"):
        await store.inbox.enqueue("s", "k", "kind", "c", {"when": object()})
    assert await store.inbox.list() == []


async def test_an_event_without_a_payload_or_with_a_read_only_mapping_is_stored(store: Store) -> None:
    bare, read_only = await store.inbox.enqueue_many(
        [
            NewEvent("s", "k1", "kind", "c"),
            NewEvent("s", "k2", "kind", "c", MappingProxyType({"owner": "005X"})),
        ]
    )
    shown = [await store.inbox.show(r.id) for r in (bare, read_only)]
    assert [d.payload for d in shown if d is not None] == [{}, {"owner": "005X"}]


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
    [retaken] = await store.inbox.claim("w2", 10, lease_seconds=30, policy=NO_WAIT)
    assert retaken.id == held.id and retaken.attempts == 2
    assert not await store.inbox.complete(held, "crashed-worker", started_at=0.0)  # its lease is gone
    assert await store.inbox.complete(retaken, "w2", started_at=0.0)


@pytest.mark.parametrize("outcome", ["done", "retry", "dead"])
async def test_an_earlier_attempt_cannot_finish_an_event_its_own_worker_has_claimed_again(
    store: Store, outcome: str
) -> None:
    await store.inbox.enqueue("s", "1", "kind", "case", {})
    await store.inbox.enqueue("s", "2", "kind", "case", {})
    [first] = await store.inbox.claim("w1", 10, lease_seconds=0.05)
    await asyncio.sleep(0.1)  # the lease lapsed while the handler ran on (a stalled loop, a clock jump)
    [second] = await store.inbox.claim("w1", 10, lease_seconds=30, policy=NO_WAIT)
    assert second.id == first.id and second.attempts == 2

    async def finish_late() -> bool:
        if outcome == "done":
            return await store.inbox.complete(first, "w1", started_at=0.0)
        if outcome == "retry":
            return await store.inbox.retry_later(first, "w1", 0.0, delay=0.0, error="late")
        return await store.inbox.dead_letter(first, "w1", 0.0, "late", blocks=False)

    assert not await finish_late()
    assert await store.inbox.heartbeat("w1", [first], lease_seconds=30) == set()
    # Attempt 2 still holds the event and its conversation: event 2 must wait for it.
    assert await store.inbox.claim("w2", 10, lease_seconds=30, policy=NO_WAIT) == []
    detail = await store.inbox.show(first.id)
    assert detail is not None and detail.summary.state == "running"
    assert [(a.attempt, a.outcome) for a in detail.attempts] == [(1, "lost")]  # nothing from the late run
    assert await store.inbox.heartbeat("w1", [second], lease_seconds=30) == {second.id}
    assert await store.inbox.complete(second, "w1", started_at=0.0)


async def test_a_heartbeat_keeps_a_long_claim_from_being_taken_over(store: Store) -> None:
    await store.inbox.enqueue("s", "1", "kind", "case", {})
    [event] = await store.inbox.claim("w1", 10, lease_seconds=1.0)
    for _ in range(4):
        await asyncio.sleep(0.4)
        assert await store.inbox.heartbeat("w1", [event], lease_seconds=1.0) == {event.id}
        assert await store.inbox.claim("w2", 10, lease_seconds=30) == []


async def test_a_heartbeat_reports_a_lease_that_was_lost_to_another_worker(store: Store) -> None:
    await store.inbox.enqueue("s", "1", "kind", "case", {})
    [event] = await store.inbox.claim("w1", 10, lease_seconds=0.05)
    await asyncio.sleep(0.1)
    [retaken] = await store.inbox.claim("w2", 10, lease_seconds=30, policy=NO_WAIT)
    assert retaken.id == event.id
    assert await store.inbox.heartbeat("w1", [event], lease_seconds=30) == set()


async def test_a_claim_no_longer_in_hand_is_not_kept_alive_by_the_heartbeat(store: Store) -> None:
    await store.inbox.enqueue("s", "orphan", "kind", "a", {})
    await store.inbox.enqueue("s", "busy", "kind", "b", {})
    events = {e.dedupe_key: e for e in await store.inbox.claim("w1", 10, lease_seconds=0.3)}
    for _ in range(4):  # the worker lost track of "orphan" (its outcome could not be written)
        await asyncio.sleep(0.15)
        await store.inbox.heartbeat("w1", [events["busy"]], lease_seconds=0.3)
    [retaken] = await store.inbox.claim("w2", 10, lease_seconds=30, policy=NO_WAIT)
    assert retaken.dedupe_key == "orphan"


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


async def test_a_lost_claim_waits_its_backoff_before_running_again(store: Store) -> None:
    await store.inbox.enqueue("s", "1", "kind", "case", {})
    await store.inbox.claim("crashed-worker", 10, lease_seconds=0.05)
    await asyncio.sleep(0.1)
    assert await store.inbox.claim("w2", 10, lease_seconds=30, policy=RetryPolicy(base=60)) == []
    [event] = await store.inbox.list(state="pending")
    assert event.last_error is not None and "stopped without finishing" in event.last_error


async def test_an_event_that_keeps_killing_its_worker_is_dead_lettered_at_the_attempt_limit(
    store: Store,
) -> None:
    await store.inbox.enqueue("s", "1", "kind", "case", {})
    policy = RetryPolicy(base=0.0, jitter=0, max_attempts=3)
    for _ in range(3):
        assert len(await store.inbox.claim("doomed-worker", 10, lease_seconds=0.05, policy=policy)) == 1
        await asyncio.sleep(0.1)
    assert await store.inbox.claim("w", 10, lease_seconds=30, policy=policy) == []
    [dead] = await store.inbox.list(state="dead")
    assert dead.last_error is not None and dead.last_error.startswith("gave up after 3 attempts")
    detail = await store.inbox.show(dead.id)
    assert detail is not None and [a.outcome for a in detail.attempts] == ["lost", "lost", "lost"]


async def test_a_released_claim_gives_its_attempt_back_and_says_so_in_the_history(store: Store) -> None:
    await store.inbox.enqueue("s", "1", "kind", "case", {})
    for _ in range(3):
        await store.inbox.claim("deploying-worker", 10, lease_seconds=300)
        await store.inbox.release_all("deploying-worker")
    [event] = await store.inbox.claim("w", 10, lease_seconds=30)
    assert event.attempts == 1
    await store.inbox.complete(event, "w", 0.0)
    detail = await store.inbox.show(event.id)
    assert detail is not None
    assert [(a.attempt, a.outcome) for a in detail.attempts] == [(1, "released")] * 3 + [(1, "done")]


async def test_one_callers_unstorable_event_fails_only_that_caller(store: Store) -> None:
    lone_surrogate = "\ud800"
    results = await asyncio.gather(
        store.inbox.enqueue("tencent", "good-1", "kind", "case", {"text": "hello"}),
        store.inbox.enqueue("tencent", "bad-1", "kind", "case", {"text": lone_surrogate}),
        store.inbox.enqueue("tencent", "bad\x002", "kind", "case", {}),
        store.inbox.enqueue("tencent", "good-2", "kind", "case", {"text": "\u4f60\u597d"}),
        return_exceptions=True,
    )
    assert [type(r).__name__ for r in results] == [
        "EnqueueResult",
        "InvalidEvent",
        "InvalidEvent",
        "EnqueueResult",
    ]
    assert isinstance(results[1], InvalidEvent) and "lone surrogate" in str(results[1])
    stored = [await store.inbox.show(e.id) for e in await store.inbox.list()]
    assert sorted(d.dedupe_key for d in stored if d is not None) == ["good-1", "good-2"]


# A row the database itself refuses, though it passed every check in Python (as a constraint
# added by a later migration might): a trigger stands in for that constraint.
REFUSE_POISON = {
    "sqlite": [
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON inbox_events WHEN NEW.dedupe_key = 'poison' "
        "BEGIN SELECT RAISE(ABORT, 'poison refused'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.dedupe_key = 'poison' THEN RAISE EXCEPTION 'poison refused'; END IF; RETURN NEW; END $$",
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON inbox_events "
        "FOR EACH ROW EXECUTE FUNCTION refuse_poison()",
    ],
}


async def test_a_batch_the_database_refuses_is_written_again_caller_by_caller(store: Store) -> None:
    database = store.inbox.database

    def add_trigger(tx: Transaction) -> None:
        for sql in REFUSE_POISON[tx.dialect]:
            tx.execute_sql(sql)

    await database.run(add_trigger)
    results = await asyncio.gather(
        store.inbox.enqueue("tencent", "good-1", "kind", "case", {}),
        store.inbox.enqueue("tencent", "poison", "kind", "case", {}),
        store.inbox.enqueue("tencent", "good-2", "kind", "case", {}),
        return_exceptions=True,
    )
    good, poison, other_good = results
    assert isinstance(poison, Exception) and "poison refused" in str(poison)
    assert isinstance(good, EnqueueResult) and isinstance(other_good, EnqueueResult)
    assert good.created and other_good.created
    assert sorted(e.id for e in await store.inbox.list()) == sorted([good.id, other_good.id])


async def test_readiness_checks_read_without_creating_anything(database_url: str) -> None:
    from gateway.store import migrate, open_store

    fresh = open_store(database_url)
    try:
        assert await migrate.current_version(fresh.database) == 0
        assert await migrate.current_version(fresh.database) == 0
        exists = await fresh.database.run(lambda tx: tx.fetchone("schema_migrations_exists"))
        assert exists is not None and exists["n"] == 0
    finally:
        await fresh.aclose()


async def test_on_postgresql_a_conversation_gets_ids_in_commit_order_across_replicas(
    postgres_url: str,
) -> None:
    """Replica A holds its insert open; replica B's event for the same Case must wait and come after."""
    import psycopg

    from gateway.store import open_store
    from gateway.store.database import Transaction
    from gateway.store.queries import load

    store = open_store(postgres_url)
    await store.migrate()
    try:
        with psycopg.connect(postgres_url) as replica_a:
            cursor = replica_a.cursor(row_factory=psycopg.rows.dict_row)
            tx = Transaction(cursor, load("postgresql"), "postgresql")
            tx.fetchall("lock_conversations", keys=["case-1"])
            cursor.execute(
                "INSERT INTO inbox_events"
                " (source, dedupe_key, kind, conversation_key, payload, received_at, run_after)"
                " VALUES ('a', 'first', 'k', 'case-1', '{}', 0, 0)"
            )
            second = asyncio.create_task(store.inbox.enqueue("b", "second", "k", "case-1", {}))
            await asyncio.sleep(0.3)
            assert not second.done()  # waiting for replica A's commit, not overtaking it
            assert await store.inbox.claim("w", 10, lease_seconds=30) == []
            replica_a.commit()
        await second
        [head] = await store.inbox.claim("w", 10, lease_seconds=30)
        assert head.dedupe_key == "first"
    finally:
        await store.aclose()


async def test_pruning_forgets_old_finished_events_and_keeps_everything_else(store: Store) -> None:
    for key in ("old-done", "old-dead", "new-done", "waiting"):
        await store.inbox.enqueue("s", key, "kind", key, {})
    claimed = {e.dedupe_key: e for e in await store.inbox.claim("w", 10, lease_seconds=60)}
    await store.inbox.complete(claimed["old-done"], "w", 0.0)
    await store.inbox.dead_letter(claimed["old-dead"], "w", 0.0, "bad", blocks=False)
    await store.inbox.complete(claimed["new-done"], "w", 0.0)
    await store.inbox.release_all("w")
    month = 30 * 86400
    await store.database.run(
        lambda tx: tx.execute_sql(
            f"UPDATE inbox_events SET finished_at = finished_at - {month} WHERE dedupe_key LIKE 'old-%'"
        )
    )
    assert await store.inbox.prune(14 * 86400, chunk=1) == 1
    remaining = [await store.inbox.show(e.id) for e in await store.inbox.list()]
    assert sorted((d.dedupe_key, d.summary.state) for d in remaining if d is not None) == [
        ("new-done", "done"),
        ("old-dead", "dead"),
        ("waiting", "pending"),
    ]
