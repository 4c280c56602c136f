"""Run the gateway as a process: ``serve`` (HTTP + embedded worker) or ``worker`` (worker alone).

This is where settings become live objects: the store, the clients, the handler registry. The
CLI calls these functions and nothing else, and tests can call them too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import uvicorn

from gateway import observability
from gateway.app import AppOptions, create_app, worker_options
from gateway.errors import ConfigurationError
from gateway.gc_tuning import tune_for_serving
from gateway.settings import Settings
from gateway.store import Store, open_store
from gateway.store.retention import prune_forever
from gateway.worker import Worker
from handlers import Handler, Ports, build_registry, load_plugins

log = logging.getLogger("gateway.runtime")


def build_handlers(settings: Settings) -> dict[str, Handler]:
    """Every handler this process runs: the business flows, then any configured plugins."""
    registry = build_registry(Ports())
    registry.update(load_handler_plugins(settings.gateway_handler_plugins))
    return registry


def load_handler_plugins(names: list[str]) -> dict[str, Handler]:
    """The GATEWAY_HANDLER_PLUGINS registries, one entry at a time so a failure can name its entry.

    Any failure (no such module or function, an error inside the plugin) is a configuration
    error: the process stops with one line, exit 2, instead of a traceback.
    """
    registry: dict[str, Handler] = {}
    for name in names:
        try:
            registry.update(load_plugins([name]))
        except Exception as exc:
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())
            raise ConfigurationError(
                f"configuration error: GATEWAY_HANDLER_PLUGINS entry {name!r} cannot be loaded ({reason})"
            ) from exc
    return registry


def serve(settings: Settings) -> None:
    """HTTP on HOST:PORT, with the worker inside the same process unless disabled."""
    app = create_app(
        AppOptions.from_settings(settings, max_body_bytes=settings.gateway_max_body_bytes),
        handlers=build_handlers(settings),
    )
    log.info("serving", extra={"host": settings.host, "port": settings.port})
    tune_for_serving()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        # Connections get 5 s to drain; then the lifespan gives the worker its own grace period.
        timeout_graceful_shutdown=5,
    )


def work(settings: Settings) -> None:
    """Workers alone, for deployments with several replicas on one PostgreSQL."""
    handlers = build_handlers(settings)  # before the store: a bad plugin stops us untouched
    tune_for_serving()
    asyncio.run(_work(settings, handlers))


async def _work(settings: Settings, handlers: dict[str, Handler]) -> None:
    store = open_store(settings.database_url, pool_size=settings.gateway_worker_concurrency + 4)
    try:
        if settings.gateway_migrate_on_start:
            await store.migrate()
        worker = Worker(store.inbox, handlers, worker_options(settings))
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, worker.stop)
        janitor = asyncio.create_task(prune_forever(store.inbox, settings.gateway_retention_days))
        stats_task = None
        if settings.metrics_port is not None:
            from prometheus_client import start_http_server

            start_http_server(settings.metrics_port, addr=settings.host)
            stats_task = asyncio.create_task(_refresh_inbox_gauges(store))
        await worker.run()
        janitor.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await janitor
        if stats_task is not None:
            stats_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stats_task
    finally:
        await store.aclose()


async def _refresh_inbox_gauges(store: Store) -> None:
    while True:
        with contextlib.suppress(Exception):
            observability.publish_inbox_stats(await store.inbox.stats())
        await asyncio.sleep(10)
