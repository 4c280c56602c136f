"""Housekeeping that keeps the inbox from growing forever: prune old finished events.

Every done event stays for ``GATEWAY_RETENTION_DAYS`` (default 14) so its dedupe key keeps
swallowing redeliveries (Salesforce retries for 24 hours), then goes. Dead events stay until an
operator retries or drops them. Runs beside each worker; on PostgreSQL several replicas pruning
at once only share the work.
"""

from __future__ import annotations

import asyncio
import logging

from gateway.store.inbox import Inbox

log = logging.getLogger("gateway.store.retention")

MINIMUM_RETENTION_DAYS = 2.0


async def prune_forever(inbox: Inbox, retention_days: float, *, every_seconds: float = 3600.0) -> None:
    while True:
        try:
            removed = await inbox.prune(retention_days * 86400)
            if removed:
                log.info("pruned finished events", extra={"count": removed, "retention_days": retention_days})
        except Exception:
            log.exception("pruning finished events failed; will try again")
        await asyncio.sleep(every_seconds)
