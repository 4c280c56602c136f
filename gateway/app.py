"""The Starlette app factory: routes, middleware, and a lifespan that owns the store and worker.

``serve`` builds the app with the embedded worker (one process does everything); tests build it
with their own store and handlers; ``bench/`` adds its own routes. Nothing here knows a
business rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from gateway.middleware import INTERNAL_ERROR, RequestGuardMiddleware
from gateway.retry import RetryPolicy
from gateway.routes import health
from gateway.settings import StoreSettings
from gateway.store import Store, open_store
from gateway.store.retention import prune_forever
from gateway.worker import Worker, WorkerOptions
from handlers import Handler

log = logging.getLogger("gateway.app")


@dataclass
class AppOptions:
    """What differs between ``serve``, tests and benchmarks."""

    database_url: str = "sqlite:///gateway.db"
    migrate_on_start: bool = True
    embedded_worker: bool = True
    worker: WorkerOptions = field(default_factory=WorkerOptions)
    max_body_bytes: int = 1_048_576
    retention_days: float = 14.0
    extra_routes: Sequence[BaseRoute] = ()

    @classmethod
    def from_settings(cls, settings: StoreSettings, *, max_body_bytes: int = 1_048_576) -> AppOptions:
        return cls(
            database_url=settings.database_url,
            migrate_on_start=settings.gateway_migrate_on_start,
            embedded_worker=settings.gateway_embedded_worker,
            worker=worker_options(settings),
            max_body_bytes=max_body_bytes,
            retention_days=settings.gateway_retention_days,
        )


def worker_options(settings: StoreSettings) -> WorkerOptions:
    return WorkerOptions(
        concurrency=settings.gateway_worker_concurrency,
        lease_seconds=settings.gateway_lease_seconds,
        handler_timeout=settings.gateway_handler_timeout_seconds,
        poll_seconds=settings.gateway_poll_seconds,
        shutdown_grace=settings.gateway_shutdown_grace_seconds,
        policy=RetryPolicy(
            base=settings.gateway_retry_base_seconds,
            cap=settings.gateway_retry_cap_seconds,
            max_attempts=settings.gateway_max_attempts,
        ),
    )


def create_app(
    options: AppOptions | None = None,
    *,
    handlers: Mapping[str, Handler] | None = None,
    store: Store | None = None,
) -> Starlette:
    """Build the gateway. A given ``store`` is used as is (and left open); otherwise one is opened."""
    options = options or AppOptions()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        own_store = store is None
        active = store or open_store(options.database_url, pool_size=options.worker.concurrency + 4)
        if options.migrate_on_start:
            applied = await active.migrate()
            if applied:
                log.info("migrations applied", extra={"versions": [m.version for m in applied]})
        app.state.store = active
        app.state.probes = probes = health.StoreProbes(active)
        worker = Worker(active.inbox, handlers or {}, options.worker) if options.embedded_worker else None
        app.state.worker = worker
        task = asyncio.create_task(worker.run(), name="embedded worker") if worker is not None else None
        janitor = (
            asyncio.create_task(prune_forever(active.inbox, options.retention_days), name="janitor")
            if worker is not None
            else None
        )
        try:
            yield
        finally:
            probes.cancel()
            if janitor is not None:
                janitor.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await janitor
            if worker is not None and task is not None:
                worker.stop()
                await task
            if own_store:
                await active.aclose()

    app = Starlette(
        # Starlette tries routes in order: the webhook routes, which take nearly every request,
        # go before the probes, which a load balancer calls a few times a minute.
        routes=[*options.extra_routes, *health.routes],
        middleware=[Middleware(RequestGuardMiddleware, max_bytes=options.max_body_bytes)],
        exception_handlers={Exception: _internal_error},
        lifespan=lifespan,
    )
    app.state.log = log
    return app


async def _internal_error(request: Request, exc: Exception) -> Response:
    """The fallback for a bug outside ``RequestGuardMiddleware``, which answers those in routes.

    A bug must not leak a stack trace to the caller; the log keeps it for us. Starlette runs
    this outside the middleware, so this 500 carries no ``X-Request-ID``, and re-raises
    afterwards, so the server logs the traceback once more.
    """
    log.error(
        "unhandled error", exc_info=exc, extra={"request_id": getattr(request.state, "request_id", None)}
    )
    return JSONResponse(INTERNAL_ERROR, status_code=500)
