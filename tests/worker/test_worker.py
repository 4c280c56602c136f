"""The worker runs each conversation in order, one event at a time, and retries or buries failures."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import defaultdict
from collections.abc import Collection
from functools import partial
from typing import Any

import pytest

from gateway.errors import PermanentError, RetryableError
from gateway.events import Event
from gateway.handling import Handler
from gateway.retry import RetryPolicy
from gateway.store import Store
from gateway.store.inbox import Inbox
from gateway.worker import Worker, WorkerOptions

pytestmark = pytest.mark.anyio

FAST = WorkerOptions(
    concurrency=16,
    lease_seconds=30,
    poll_seconds=0.02,
    shutdown_grace=2,
    policy=RetryPolicy(base=0.01, cap=0.05, max_attempts=5, jitter=0),
)


async def test_per_conversation_order_is_arrival_order_and_runs_never_overlap(store: Store) -> None:
    runs: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    rng = random.Random(7)

    async def record(event: Event) -> None:
        started = time.monotonic()
        await asyncio.sleep(rng.random() * 0.002)
        runs[event.conversation_key].append((event.id, started, time.monotonic()))

    arrivals: dict[str, list[int]] = defaultdict(list)
    for n in range(2000):
        conversation = f"case-{rng.randrange(50)}"
        result = await store.inbox.enqueue("test", f"e{n}", "test.record", conversation, {})
        arrivals[conversation].append(result.id)

    await Worker(store.inbox, {"test.record": record}, FAST).run_until_idle(limit=120)

    assert sum(len(r) for r in runs.values()) == 2000
    for conversation, ids in arrivals.items():
        executed = runs[conversation]
        assert [event_id for event_id, _, _ in executed] == ids, conversation
        for (_, _, previous_end), (_, next_start, _) in itertools.pairwise(executed):
            assert next_start >= previous_end, f"overlap in {conversation}"
    stats = await store.inbox.stats()
    assert stats.counts["done"] == 2000


async def test_two_workers_sharing_a_store_still_keep_each_conversation_serial(store: Store) -> None:
    running: set[str] = set()
    overlaps: list[str] = []
    handled: list[int] = []

    async def record(event: Event) -> None:
        if event.conversation_key in running:
            overlaps.append(event.conversation_key)
        running.add(event.conversation_key)
        await asyncio.sleep(0.001)
        running.discard(event.conversation_key)
        handled.append(event.id)

    for n in range(300):
        await store.inbox.enqueue("test", f"e{n}", "test.record", f"case-{n % 10}", {})
    workers = [Worker(store.inbox, {"test.record": record}, FAST, name=f"w{i}") for i in range(2)]
    await asyncio.gather(*(w.run_until_idle() for w in workers))
    assert overlaps == []
    assert sorted(handled) == sorted(set(handled)) and len(handled) == 300


async def test_a_transient_failure_three_times_then_success_ends_done_after_four_attempts(
    store: Store,
) -> None:
    calls = 0

    async def flaky(event: Event) -> None:
        nonlocal calls
        calls += 1
        if calls <= 3:
            raise RetryableError("Tencent IM 10002: server internal error")

    result = await store.inbox.enqueue("test", "1", "test.flaky", "case", {})
    await Worker(store.inbox, {"test.flaky": flaky}, FAST).run_until_idle()
    detail = await store.inbox.show(result.id)
    assert detail is not None
    assert detail.summary.state == "done" and detail.summary.attempts == 4
    assert [a.outcome for a in detail.attempts] == ["retry", "retry", "retry", "done"]


async def test_a_permanent_failure_is_dead_at_once_with_its_reason(store: Store) -> None:
    async def refuse(event: Event) -> None:
        raise PermanentError("Salesforce 400 INVALID_FIELD: No such column 'Foo__c'")

    result = await store.inbox.enqueue("test", "1", "test.refuse", "case", {})
    await Worker(store.inbox, {"test.refuse": refuse}, FAST).run_until_idle()
    [dead] = await store.inbox.list(state="dead")
    assert dead.id == result.id and dead.attempts == 1
    assert dead.last_error == "Salesforce 400 INVALID_FIELD: No such column 'Foo__c'"


async def test_retrying_a_dead_event_runs_it_again(store: Store) -> None:
    fixed = False

    async def sometimes(event: Event) -> None:
        if not fixed:
            raise PermanentError("bad configuration")

    result = await store.inbox.enqueue("test", "1", "test.kind", "case", {})
    worker = Worker(store.inbox, {"test.kind": sometimes}, FAST)
    await worker.run_until_idle()
    fixed = True
    assert await store.inbox.retry_dead(result.id)
    await worker.run_until_idle()
    detail = await store.inbox.show(result.id)
    assert detail is not None and detail.summary.state == "done"


async def test_retries_stop_at_the_attempt_limit_and_the_event_is_dead(store: Store) -> None:
    async def always_busy(event: Event) -> None:
        raise RetryableError("60007 rate limited")

    await store.inbox.enqueue("test", "1", "test.busy", "case", {})
    await Worker(store.inbox, {"test.busy": always_busy}, FAST).run_until_idle()
    [dead] = await store.inbox.list(state="dead")
    assert dead.attempts == FAST.policy.max_attempts
    assert dead.last_error is not None and dead.last_error.startswith("gave up after 5 attempts")


async def test_a_dead_event_does_not_hold_back_the_rest_of_its_conversation(store: Store) -> None:
    handled: list[str] = []

    async def handler(event: Event) -> None:
        if event.payload.get("poison"):
            raise PermanentError("poison")
        handled.append(event.dedupe_key)

    await store.inbox.enqueue("test", "1", "test.kind", "case", {"poison": True})
    await store.inbox.enqueue("test", "2", "test.kind", "case", {})
    await Worker(store.inbox, {"test.kind": handler}, FAST).run_until_idle()
    assert handled == ["2"]


async def test_a_handler_may_ask_its_conversation_to_wait_for_an_operator(store: Store) -> None:
    handled: list[str] = []

    async def handler(event: Event) -> None:
        if event.payload.get("poison"):
            raise PermanentError("group state unknown", block_conversation=True)
        handled.append(event.dedupe_key)

    await store.inbox.enqueue("test", "1", "test.kind", "case", {"poison": True})
    await store.inbox.enqueue("test", "2", "test.kind", "case", {})
    await store.inbox.enqueue("test", "3", "test.kind", "other", {})
    await Worker(store.inbox, {"test.kind": handler}, FAST).run_until_idle()
    assert handled == ["3"]


async def test_an_event_of_an_unknown_kind_is_dead_lettered_with_a_clear_reason(store: Store) -> None:
    await store.inbox.enqueue("test", "1", "nobody.handles.this", "case", {})
    await Worker(store.inbox, {}, FAST).run_until_idle()
    [dead] = await store.inbox.list(state="dead")
    assert dead.last_error == "no handler is registered for kind 'nobody.handles.this'"


async def test_an_unexpected_exception_is_retried_not_lost(store: Store) -> None:
    calls = 0

    async def buggy(event: Event) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise KeyError("Id")

    result = await store.inbox.enqueue("test", "1", "test.kind", "case", {})
    await Worker(store.inbox, {"test.kind": buggy}, FAST).run_until_idle()
    detail = await store.inbox.show(result.id)
    assert detail is not None and detail.summary.state == "done"
    assert detail.attempts[0].error == "KeyError: 'Id'"


async def test_a_handler_that_hangs_is_timed_out_and_retried(store: Store) -> None:
    calls = 0

    async def hangs_once(event: Event) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(10)

    options = WorkerOptions(concurrency=2, handler_timeout=0.05, poll_seconds=0.02, policy=FAST.policy)
    result = await store.inbox.enqueue("test", "1", "test.kind", "case", {})
    await Worker(store.inbox, {"test.kind": hangs_once}, options).run_until_idle()
    detail = await store.inbox.show(result.id)
    assert detail is not None and detail.summary.state == "done" and detail.summary.attempts == 2


async def test_graceful_stop_finishes_in_flight_work_and_claims_nothing_new(store: Store) -> None:
    started = asyncio.Event()
    finished: list[str] = []

    async def slow(event: Event) -> None:
        started.set()
        await asyncio.sleep(0.2)
        finished.append(event.dedupe_key)

    await store.inbox.enqueue("test", "1", "test.slow", "a", {})
    worker = Worker(store.inbox, {"test.slow": slow}, FAST)
    task = asyncio.create_task(worker.run())
    await started.wait()
    worker.stop()
    await store.inbox.enqueue("test", "2", "test.slow", "b", {})  # arrives while it winds down
    await task
    assert finished == ["1"]
    states = {e.conversation_key: e.state for e in await store.inbox.list()}
    assert states == {"a": "done", "b": "pending"}


async def test_graceful_stop_releases_work_that_outlives_the_grace_period(store: Store) -> None:
    started = asyncio.Event()

    async def endless(event: Event) -> None:
        started.set()
        await asyncio.sleep(60)

    await store.inbox.enqueue("test", "1", "test.endless", "a", {})
    options = WorkerOptions(concurrency=2, poll_seconds=0.02, shutdown_grace=0.05)
    worker = Worker(store.inbox, {"test.endless": endless}, options)
    task = asyncio.create_task(worker.run())
    await started.wait()
    worker.stop()
    await task
    [event] = await store.inbox.list()
    assert event.state == "pending"  # released at once, not left to its lease
    [again] = await store.inbox.claim("next-worker", 1, lease_seconds=30)
    assert again.id == event.id


async def test_a_new_event_wakes_an_idle_embedded_worker_without_waiting_for_the_poll(store: Store) -> None:
    done = asyncio.Event()

    async def handler(event: Event) -> None:
        done.set()

    worker = Worker(store.inbox, {"test.kind": handler}, WorkerOptions(poll_seconds=30))
    task = asyncio.create_task(worker.run())
    await asyncio.sleep(0.05)
    await store.inbox.enqueue("test", "1", "test.kind", "case", {})
    await asyncio.wait_for(done.wait(), timeout=5)  # far less than the 30 s poll
    worker.stop()
    await task


def _unused(handler: Handler) -> None:  # keeps the Handler alias exercised by mypy
    pass


async def test_a_handler_whose_lease_was_lost_is_stopped_so_the_event_never_runs_twice_at_once(
    store: Store,
) -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def long_running(event: Event) -> None:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    await store.inbox.enqueue("test", "1", "test.long", "case", {})
    options = WorkerOptions(concurrency=2, lease_seconds=1.5, poll_seconds=0.05)
    worker = Worker(store.inbox, {"test.long": long_running}, options, name="w1")
    task = asyncio.create_task(worker.run())
    await started.wait()
    # Another replica took the event over (as after a long network partition).
    await store.database.run(lambda tx: tx.execute_sql("UPDATE inbox_events SET lease_owner = 'w2'"))
    await asyncio.wait_for(cancelled.wait(), timeout=5)  # the next heartbeat notices
    worker.stop()
    await task
    [event] = await store.inbox.list()
    assert event.state == "running"  # left to its new owner, nothing recorded by w1
    detail = await store.inbox.show(event.id)
    assert detail is not None and detail.attempts == [] and detail.lease_owner == "w2"


async def test_a_worker_that_claims_its_own_lapsed_event_again_stops_the_earlier_run_first(
    store: Store,
) -> None:
    runs: list[tuple[int, int, float, float]] = []  # event id, attempt, started, ended
    first_started = asyncio.Event()

    async def record(event: Event) -> None:
        started = time.monotonic()
        try:
            if event.dedupe_key == "1" and event.attempts == 1:
                first_started.set()
                await asyncio.sleep(30)  # still running when its lease lapses
        finally:
            runs.append((event.id, event.attempts, started, time.monotonic()))

    await store.inbox.enqueue("test", "1", "test.record", "case", {})
    await store.inbox.enqueue("test", "2", "test.record", "case", {})
    worker = Worker(store.inbox, {"test.record": record}, FAST, name="w1")
    task = asyncio.create_task(worker.run())
    await asyncio.wait_for(first_started.wait(), timeout=5)
    # The lease lapses while the handler runs on (an event loop stalled past the heartbeat, a
    # clock that jumped): the worker's own next claim requeues the event and takes it again.
    await store.database.run(lambda tx: tx.execute_sql("UPDATE inbox_events SET lease_expires_at = 0"))
    for _ in range(250):
        if len(runs) == 3:
            break
        await asyncio.sleep(0.02)
    worker.stop()
    await task

    assert [(event_id, attempt) for event_id, attempt, _, _ in runs] == [(1, 1), (1, 2), (2, 1)]
    for (_, _, _, previous_end), (_, _, next_start, _) in itertools.pairwise(runs):
        assert next_start >= previous_end, "two runs of one conversation overlapped"
    assert (await store.inbox.stats()).counts["done"] == 2


class _PartitionedInbox(Inbox):
    """The store as a worker sees it once a network partition begins, after its first claim:
    heartbeats never come back, and later claims fail."""

    claimed_once = False

    async def claim(self, *args: Any, **kwargs: Any) -> list[Event]:
        if self.claimed_once:
            raise ConnectionError("the network is partitioned")
        self.claimed_once = True
        return await super().claim(*args, **kwargs)

    async def heartbeat(self, owner: str, in_hand: Collection[Event], lease_seconds: float) -> set[int]:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")


async def test_a_worker_whose_heartbeats_hang_stops_its_handlers_before_their_leases_lapse(
    store: Store,
) -> None:
    runs: list[tuple[str, float, float]] = []  # worker, started, ended
    cut_off = asyncio.Event()

    async def record_as(worker: str, event: Event) -> None:
        started = time.monotonic()
        try:
            if worker == "cut-off":
                cut_off.set()
                await asyncio.sleep(30)
        finally:
            runs.append((worker, started, time.monotonic()))

    await store.inbox.enqueue("test", "1", "test.record", "case", {})
    short_lease = WorkerOptions(concurrency=1, lease_seconds=0.6, poll_seconds=0.02, policy=FAST.policy)
    cut_off_worker = Worker(
        _PartitionedInbox(store.database),
        {"test.record": partial(record_as, "cut-off")},
        short_lease,
        name="cut-off",
    )
    first = asyncio.create_task(cut_off_worker.run())
    await asyncio.wait_for(cut_off.wait(), timeout=5)
    # Another replica, healthy, takes the event over as soon as the lease has lapsed.
    healthy = Worker(store.inbox, {"test.record": partial(record_as, "healthy")}, FAST, name="healthy")
    second = asyncio.create_task(healthy.run())
    for _ in range(250):
        if len(runs) == 2:
            break
        await asyncio.sleep(0.02)
    healthy.stop()
    cut_off_worker.stop()
    await asyncio.gather(first, second)

    assert [worker for worker, _, _ in runs] == ["cut-off", "healthy"]
    (_, _, cut_off_ended), (_, healthy_started, _) = runs
    assert cut_off_ended <= healthy_started, "the event ran in two places at once"
    assert (await store.inbox.stats()).counts["done"] == 1
