"""SQLite's WAL is copied back to the database file in the background, not inside a webhook's commit."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from gateway.store import open_store

pytestmark = pytest.mark.anyio


async def test_the_log_reaches_the_database_file_within_seconds_without_any_commit_doing_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "gateway.db"
    store = open_store(f"sqlite:///{path}", long_running=True)
    try:
        await store.migrate()
        size_after_schema = path.stat().st_size
        # A few hundred pages: far below the backstop at which a commit would checkpoint by itself,
        # so only the background thread can move them into the database file while it is open.
        for n in range(300):
            await store.inbox.enqueue("test", f"e{n}", "kind", f"case-{n}", {"text": "x" * 500})
        for _ in range(50):
            await asyncio.sleep(0.1)
            if path.stat().st_size > size_after_schema:
                break
        assert path.stat().st_size > size_after_schema
    finally:
        await store.aclose()
    assert not any(thread.name == "sqlite-checkpointer" for thread in threading.enumerate())


async def test_a_short_lived_store_such_as_the_cli_s_starts_no_checkpointer_thread(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'gateway.db'}")
    try:
        await store.migrate()
        await store.inbox.enqueue("test", "e1", "kind", "case-1", {})
        assert not any(thread.name == "sqlite-checkpointer" for thread in threading.enumerate())
    finally:
        await store.aclose()
