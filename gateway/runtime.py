"""The composition root: settings become a running gateway, ``serve`` or ``worker``.

The one module of the core that imports ``handlers/``: it pairs the business registry with
the configured plugins and gives the result to :class:`~gateway.services.Services`, which
``serve``, ``worker``, ``demo`` and the tests open alike. The CLI calls these functions and
nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal

import httpx
import uvicorn

import handlers
from gateway import observability
from gateway.app import create_app
from gateway.errors import ConfigurationError
from gateway.gc_tuning import tune_for_serving
from gateway.handling import HandlerRegistry, Ports, RegistryFactory
from gateway.services import Services
from gateway.settings import Settings
from gateway.store import Store

log = logging.getLogger("gateway.runtime")


def load_handler_plugins(names: list[str]) -> list[tuple[str, RegistryFactory]]:
    """The ``GATEWAY_HANDLER_PLUGINS`` factories (``module:function``), imported now.

    Each function takes the :class:`~gateway.handling.Ports` and returns handlers by kind, like
    ``handlers.build_registry``: operators use this for a site-specific flow, the test suite to
    run recording handlers in real ``tim-gateway worker`` processes. An entry that cannot be
    imported is a configuration error: one line, exit 2, and nothing opened.
    """
    factories: list[tuple[str, RegistryFactory]] = []
    for name in names:
        module_name, _, function_name = name.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), function_name)
            if not callable(factory):
                raise TypeError(f"{function_name} is not callable")
        except Exception as exc:
            raise _plugin_error(name, exc) from exc
        factories.append((name, factory))
    return factories


def gateway_handlers(settings: Settings) -> RegistryFactory:
    """The business handlers, then the plugins' (a plugin may replace a kind's handler)."""
    plugins = load_handler_plugins(settings.gateway_handler_plugins)

    def build(ports: Ports) -> HandlerRegistry:
        registry = dict(handlers.build_registry(ports))
        for name, factory in plugins:
            try:
                registry.update(factory(ports))
            except Exception as exc:
                raise _plugin_error(name, exc) from exc
        return registry

    return build


def gateway_services(
    settings: Settings,
    *,
    run_worker: bool,
    tencent_http: httpx.AsyncClient | None = None,
    salesforce_http: httpx.AsyncClient | None = None,
) -> Services:
    """The gateway's :class:`Services`, with every handler it runs (not yet open)."""
    return Services(
        settings,
        gateway_handlers(settings),
        run_worker=run_worker,
        tencent_http=tencent_http,
        salesforce_http=salesforce_http,
    )


def serve(settings: Settings) -> None:
    """HTTP on HOST:PORT, with the worker inside the same process unless disabled."""
    app = create_app(settings, gateway_services(settings, run_worker=settings.gateway_embedded_worker))
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
    services = gateway_services(settings, run_worker=True)  # a bad plugin stops us here, untouched
    tune_for_serving()
    asyncio.run(_work(services))


async def _work(services: Services) -> None:
    async with services:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, services.stop_worker)
        stats_task = None
        if services.settings.metrics_port is not None:
            from prometheus_client import start_http_server

            start_http_server(services.settings.metrics_port, addr=services.settings.host)
            stats_task = asyncio.create_task(_refresh_inbox_gauges(services.store))
        await services.worker_stopped()
        if stats_task is not None:
            stats_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stats_task


async def _refresh_inbox_gauges(store: Store) -> None:
    while True:
        with contextlib.suppress(Exception):
            observability.publish_inbox_stats(await store.inbox.stats())
        await asyncio.sleep(10)


def _plugin_error(name: str, exc: BaseException) -> ConfigurationError:
    reason = " ".join(f"{type(exc).__name__}: {exc}".split())
    return ConfigurationError(
        f"configuration error: GATEWAY_HANDLER_PLUGINS entry {name!r} cannot be loaded ({reason})"
    )
