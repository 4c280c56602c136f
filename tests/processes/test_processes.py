"""Real ``tim-gateway worker`` processes: replicas share one store, and a killed worker loses nothing."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from gateway.store import Store, open_store
from tests.support.environment import free_port, gateway_command, gateway_environment
from tests.support.recording import read_records

pytestmark = pytest.mark.anyio


def _start(verb: str, environment: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(gateway_command(verb), env=environment, stdout=output, stderr=output)


def _start_worker(database_url: str, record: Path, log: Path, **settings: str) -> subprocess.Popen[bytes]:
    environment = gateway_environment(
        DATABASE_URL=database_url,
        GATEWAY_HANDLER_PLUGINS="tests.support.recording:registry",
        GATEWAY_TEST_RECORD=str(record),
        GATEWAY_POLL_SECONDS="0.05",
        **settings,
    )
    return _start("worker", environment, log)


async def _wait_for(condition: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _lines_at_least(path: Path, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return _count_lines(path) >= count

    return check


def _all_done(store: Store, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return (await store.inbox.stats()).counts["done"] == count

    return check


def _both_started(logs: list[Path]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return all(log.exists() and "worker started" in log.read_text() for log in logs)

    return check


def _stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    return process.wait(timeout=30)


async def test_two_worker_processes_on_one_postgresql_handle_each_event_exactly_once(
    postgres_url: str, tmp_path: Path
) -> None:
    store = open_store(postgres_url)
    await store.migrate()
    record, logs = tmp_path / "record.txt", [tmp_path / "w1.log", tmp_path / "w2.log"]
    workers = [_start_worker(postgres_url, record, log) for log in logs]
    try:
        await _wait_for(_both_started(logs), 30, "both workers to start")
        for n in range(1000):
            await store.inbox.enqueue("test", f"e{n}", "test.record", f"case-{n % 40}", {"sleep": 0.005})
        await _wait_for(_all_done(store, 1000), 120, "1,000 handled events")
        assert [_stop(worker) for worker in workers] == [0, 0]
        runs = read_records(str(record))
        per_event = Counter(event_id for event_id, *_ in runs)
        assert len(per_event) == 1000 and set(per_event.values()) == {1}
        assert len({pid for _, pid, _, _ in runs}) == 2, "both processes should have taken a share"
        assert (await store.inbox.stats()).counts["done"] == 1000
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
        await store.aclose()


async def test_a_worker_killed_mid_batch_loses_nothing_and_a_restart_finishes_everything_once(
    database_url: str, tmp_path: Path
) -> None:
    store = open_store(database_url)
    await store.migrate()
    record, log = tmp_path / "record.txt", tmp_path / "worker.log"
    for n in range(200):  # at least 1.25 s of work at 8 at a time, so the kill lands mid-batch
        await store.inbox.enqueue("test", f"e{n}", "test.record", f"case-{n % 20}", {"sleep": 0.05})
    first = _start_worker(database_url, record, log, GATEWAY_LEASE_SECONDS="2")
    try:
        await _wait_for(_lines_at_least(record, 40), 60, "the first worker to get going")
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=10) == -signal.SIGKILL
        handled_before_crash = _count_lines(record)
        assert handled_before_crash < 200, "the crash must interrupt the batch"

        second = _start_worker(database_url, record, log, GATEWAY_LEASE_SECONDS="2")
        try:
            await _wait_for(_all_done(store, 200), 90, "every event to be done")
        finally:
            assert _stop(second) == 0

        stats = await store.inbox.stats()
        assert stats.counts == {"pending": 0, "running": 0, "done": 200, "dead": 0}
        for event in await store.inbox.list(limit=1000):
            detail = await store.inbox.show(event.id)
            assert detail is not None
            outcomes = [a.outcome for a in detail.attempts]
            assert outcomes.count("done") == 1, f"event {event.id} finished more than once"
            assert set(outcomes) <= {"lost", "done"}
        handled = Counter(event_id for event_id, *_ in read_records(str(record)))
        assert len(handled) == 200
        # Only events in flight at the kill ran twice (at-least-once, bounded by the concurrency).
        assert sum(1 for count in handled.values() if count > 1) <= 8
    finally:
        if first.poll() is None:
            first.kill()
        await store.aclose()


def _count_lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


async def test_serve_on_sigterm_finishes_the_event_in_hand_and_exits_cleanly(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'gateway.db'}"
    store = open_store(database_url)
    await store.migrate()
    record, log = tmp_path / "record.txt", tmp_path / "serve.log"
    environment = gateway_environment(
        DATABASE_URL=database_url,
        PORT=str(free_port()),
        GATEWAY_HANDLER_PLUGINS="tests.support.recording:registry",
        GATEWAY_TEST_RECORD=str(record),
        GATEWAY_POLL_SECONDS="0.05",
    )
    server = _start("serve", environment, log)
    try:
        await _wait_for(_both_started([log]), 30, "serve to start its worker")
        await store.inbox.enqueue("test", "slow", "test.record", "case-1", {"sleep": 1.5})
        await _wait_for(_running(store), 30, "the event to be claimed")
        server.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal once it has shut down, so a clean stop may read as -SIGTERM.
        assert server.wait(timeout=30) in (0, -signal.SIGTERM)
        assert (await store.inbox.stats()).counts["done"] == 1
        assert "Application shutdown complete" in log.read_text()
    finally:
        if server.poll() is None:
            server.kill()
        await store.aclose()


def _running(store: Store) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return (await store.inbox.stats()).counts["running"] == 1

    return check
