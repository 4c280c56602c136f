"""How the gateway's SQLite connection is set up, where a setting changes what the disk sees."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.store import open_store
from gateway.store.database import Transaction

pytestmark = pytest.mark.anyio

MEMORY = 2  # PRAGMA temp_store: 0 default (a file, as compiled), 1 file, 2 memory


def _temp_store(tx: Transaction) -> Any:
    # The setting belongs to the connection, so it is read on the store's own connection.
    return tx._cursor.execute("PRAGMA temp_store").fetchone()[0]


async def test_a_batch_keeps_its_statement_journal_in_memory_rather_than_in_a_temporary_file(
    tmp_path: Path,
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'gateway.db'}")
    try:
        await store.migrate()
        assert await store.database.run(_temp_store) == MEMORY
    finally:
        await store.aclose()
