"""Everything a gateway process runs on, opened and closed as one: :class:`Services`.

``serve``, ``worker``, ``demo`` and the tests all open the same object, so start-up and
shut-down are written once. It owns the store, both clients, the handler registry, the
worker and retention; the HTTP app (:func:`gateway.app.create_app`) only borrows it.

It does not choose the handlers: the composition root (:mod:`gateway.runtime`) passes the
factory that builds them around the ports, so this module, like the rest of the core, never
imports ``handlers/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import Self

import httpx

from gateway.clients.factory import salesforce_client, tencent_client
from gateway.clients.salesforce.client import SalesforceClient
from gateway.clients.tencent_im.client import TencentIMClient
from gateway.handling import HandlerRegistry, Ports, RegistryFactory
from gateway.settings import Settings
from gateway.store import Store, open_store
from gateway.store.retention import prune_forever
from gateway.worker import Worker, WorkerOptions

log = logging.getLogger("gateway.services")


class Services:
    """Open with ``async with``; the attributes exist from then until the block ends.

    ``run_worker``: run the worker (and retention) inside this process, as ``worker`` always
    and ``serve`` by default (``GATEWAY_EMBEDDED_WORKER``) do. ``tencent_http`` and
    ``salesforce_http`` route the clients elsewhere, e.g. into an emulator in-process
    (``httpx.AsyncClient(transport=httpx.ASGITransport(app=...))``); their owner closes them.
    """

    def __init__(
        self,
        settings: Settings,
        handlers: RegistryFactory,
        *,
        run_worker: bool,
        tencent_http: httpx.AsyncClient | None = None,
        salesforce_http: httpx.AsyncClient | None = None,
    ) -> None:
        self.settings = settings
        self.run_worker = run_worker
        self._build_handlers = handlers
        self._tencent_http = tencent_http
        self._salesforce_http = salesforce_http
        self._stack: contextlib.AsyncExitStack | None = None
        self._worker_task: asyncio.Task[None] | None = None
        self.store: Store
        self.tencent: TencentIMClient
        self.salesforce: SalesforceClient
        self.handlers: HandlerRegistry
        self.worker: Worker | None = None

    async def __aenter__(self) -> Self:
        if self._stack is not None:
            raise RuntimeError("these services are already open")
        settings = self.settings
        async with contextlib.AsyncExitStack() as stack:
            # Clients and handlers first: they do no I/O, and a handler plugin that fails to
            # build stops start-up before the store is touched.
            self.tencent = tencent_client(settings, http=self._tencent_http)
            stack.push_async_callback(self.tencent.aclose)
            self.salesforce = salesforce_client(settings, http=self._salesforce_http)
            stack.push_async_callback(self.salesforce.aclose)
            self.handlers = dict(
                self._build_handlers(Ports(tencent=self.tencent, salesforce=self.salesforce))
            )

            self.store = open_store(
                settings.database_url, pool_size=settings.gateway_worker_concurrency + 4, long_running=True
            )
            stack.push_async_callback(self.store.aclose)
            if settings.gateway_migrate_on_start:
                applied = await self.store.migrate()
                if applied:
                    log.info("migrations applied", extra={"versions": [m.version for m in applied]})

            if self.run_worker:
                self.worker = Worker(self.store.inbox, self.handlers, WorkerOptions.from_settings(settings))
                self._worker_task = asyncio.create_task(self.worker.run(), name="worker")
                stack.push_async_callback(self._stop_worker)
                retention = asyncio.create_task(
                    prune_forever(self.store.inbox, settings.gateway_retention_days), name="retention"
                )
                stack.push_async_callback(_cancelled, retention)
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    def stop_worker(self) -> None:
        """Stop claiming events (SIGTERM); in-flight ones finish within the grace period."""
        if self.worker is not None:
            self.worker.stop()

    async def worker_stopped(self) -> None:
        """Wait until the worker has stopped: the ``worker`` process's whole life."""
        if self._worker_task is not None:
            await asyncio.shield(self._worker_task)

    async def _stop_worker(self) -> None:
        self.stop_worker()
        if self._worker_task is not None:
            await self._worker_task


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
