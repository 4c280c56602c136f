"""The Starlette app factory: routes and middleware around one :class:`~gateway.services.Services`.

The app's lifespan opens the services it is given and closes them on shut-down, so under
uvicorn the HTTP connections drain first (``timeout_graceful_shutdown``) and the worker gets
its own grace period after. Routes reach the services and the settings through
``request.app.state``. Nothing here knows a business rule.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from gateway.middleware import INTERNAL_ERROR, RequestGuardMiddleware
from gateway.routes import health
from gateway.services import Services
from gateway.settings import Settings

log = logging.getLogger("gateway.app")


def create_app(
    settings: Settings, services: Services, *, extra_routes: Sequence[BaseRoute] = ()
) -> Starlette:
    """Build the gateway over ``services``, which the app's lifespan opens and closes.

    ``extra_routes`` go first: tests and ``bench/`` add their own endpoints to the real shell.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with services:
            app.state.probes = probes = health.StoreProbes(services.store)
            try:
                yield
            finally:
                probes.cancel()

    app = Starlette(
        # Starlette tries routes in order: the webhook routes, which take nearly every request,
        # go before the probes, which a load balancer calls a few times a minute.
        routes=[*extra_routes, *health.routes],
        middleware=[Middleware(RequestGuardMiddleware, max_bytes=settings.gateway_max_body_bytes)],
        exception_handlers={Exception: _internal_error},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.services = services
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
