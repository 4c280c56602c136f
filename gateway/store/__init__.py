"""The durable record: the inbox of events, leases, attempts, and (later) conversation state.

``open_store(url)`` is the one entry point; it returns a :class:`Store` holding the database
connection and the services built on it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from gateway.store import migrate
from gateway.store.database import Database, StoreUnavailable, open_database
from gateway.store.inbox import Clock, Inbox

__all__ = ["Store", "StoreUnavailable", "open_store"]


@dataclass
class Store:
    database: Database
    inbox: Inbox

    async def migrate(self) -> list[migrate.Migration]:
        return await migrate.apply(self.database)

    async def is_ready(self) -> bool:
        """Reachable and migrated to the version this code expects."""
        try:
            return await migrate.current_version(self.database) >= migrate.latest_version()
        except Exception:
            return False

    async def aclose(self) -> None:
        await self.database.aclose()


def open_store(
    url: str, *, pool_size: int = 10, clock: Clock = time.time, long_running: bool = False
) -> Store:
    """The store at ``url``; ``long_running`` for ``serve`` and ``worker``, not for a CLI command."""
    database = open_database(url, pool_size=pool_size, long_running=long_running)
    return Store(database=database, inbox=Inbox(database, clock=clock))
