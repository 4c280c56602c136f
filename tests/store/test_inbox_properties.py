"""Generated interleavings of enqueue, claim, finish, release and crashes keep the inbox's promises.

hypothesis drives the real SQLite store through random sequences of what workers and transport
do; after every step the invariants must hold:
- no two events of one conversation are ever running at once;
- a claimed event is the oldest unfinished event of its conversation;
- every enqueued event exists exactly once, in one of the four states.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from gateway.events import Event, NewEvent
from gateway.retry import RetryPolicy
from gateway.store import open_store

CONVERSATIONS = st.sampled_from(["case-a", "case-b", "case-c"])
WORKERS = st.sampled_from(["w1", "w2"])
NO_WAIT = RetryPolicy(base=0.0, jitter=0, max_attempts=3)


class InboxMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        # One fresh folder per generated example (pytest's tmp_path is one per test), removed
        # in teardown: sixty examples must not leave sixty databases behind.
        self.folder = tempfile.mkdtemp(prefix="inbox-machine-")
        self.store = open_store(f"sqlite:///{self.folder}/gateway.db")
        self.run(self.store.migrate())
        self.enqueued: dict[str, int] = {}  # dedupe key -> id
        self.running: dict[int, tuple[str, Event]] = {}  # id -> (worker, event)
        self.counter = 0

    def run(self, awaitable: Any) -> Any:
        return self.loop.run_until_complete(awaitable)

    def teardown(self) -> None:
        try:
            self.run(self.store.aclose())
            self.loop.close()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    @rule(conversation=CONVERSATIONS, redeliver=st.booleans())
    def enqueue(self, conversation: str, redeliver: bool) -> None:
        if redeliver and self.enqueued:
            key = sorted(self.enqueued)[self.counter % len(self.enqueued)]
        else:
            self.counter += 1
            key = f"n{self.counter}"
        result = self.run(self.store.inbox.enqueue("test", key, "kind", conversation, {}))
        if key in self.enqueued:
            assert not result.created and result.id == self.enqueued[key]
        else:
            assert result.created
            self.enqueued[key] = result.id

    @rule(picks=st.lists(st.integers(0, 12), min_size=1, max_size=8), conversation=CONVERSATIONS)
    def enqueue_batch(self, picks: list[int], conversation: str) -> None:
        # Keys from a small pool, so a batch mixes new events, redeliveries and repeats.
        keys = [f"b{pick}" for pick in picks]
        batch = [NewEvent("test", key, "kind", conversation, {}) for key in keys]
        results = self.run(self.store.inbox.enqueue_many(batch))
        new_ids = []
        for key, result in zip(keys, results, strict=True):
            if key in self.enqueued:
                assert not result.created and result.id == self.enqueued[key]
            else:
                assert result.created
                self.enqueued[key] = result.id
                new_ids.append(result.id)
            detail = self.run(self.store.inbox.show(result.id))
            assert detail is not None and detail.dedupe_key == key
        assert new_ids == sorted(new_ids)  # ids follow the order the events were given in

    @rule(worker=WORKERS)
    def claim(self, worker: str) -> None:
        for event in self.run(self.store.inbox.claim(worker, 5, lease_seconds=30, policy=NO_WAIT)):
            assert event.id not in self.running
            self.running[event.id] = (worker, event)
            ahead = [
                e
                for e in self.run(self.store.inbox.list(conversation_key=event.conversation_key, limit=1000))
                if e.id < event.id and (e.state in ("pending", "running") or e.blocks_conversation)
            ]
            assert ahead == [], f"event {event.id} claimed with {ahead} still ahead of it"

    @precondition(lambda self: bool(self.running))
    @rule(
        outcome=st.sampled_from(["done", "retry", "dead", "dead-blocking"]),
        pick=st.integers(0, 100),
        backoff=st.sampled_from([0.0, 3600.0]),  # ready again at once, or not for an hour
    )
    def finish(self, outcome: str, pick: int, backoff: float) -> None:
        event_id = sorted(self.running)[pick % len(self.running)]
        worker, event = self.running.pop(event_id)
        inbox = self.store.inbox
        if outcome == "done":
            assert self.run(inbox.complete(event, worker, 0.0))
        elif outcome == "retry":
            assert self.run(inbox.retry_later(event, worker, 0.0, backoff, "busy"))
        else:
            assert self.run(inbox.dead_letter(event, worker, 0.0, "bad", blocks=outcome == "dead-blocking"))

    @precondition(lambda self: bool(self.running))
    @rule(worker=WORKERS)
    def shut_down(self, worker: str) -> None:
        self.run(self.store.inbox.release_all(worker))
        self.running = {k: v for k, v in self.running.items() if v[0] != worker}

    @rule()
    def operator_retries_the_dead(self) -> None:
        self.run(self.store.inbox.retry_all_dead())

    @invariant()
    def one_running_event_per_conversation(self) -> None:
        running = self.run(self.store.inbox.list(state="running", limit=1000))
        conversations = [event.conversation_key for event in running]
        assert len(conversations) == len(set(conversations))
        assert {event.id for event in running} == set(self.running)

    @invariant()
    def every_event_exists_exactly_once(self) -> None:
        stored = self.run(self.store.inbox.list(limit=10_000))
        assert sorted(event.id for event in stored) == sorted(self.enqueued.values())


TestInboxMachine = InboxMachine.TestCase
TestInboxMachine.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
