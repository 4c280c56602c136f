"""The emulator's ASGI app: routes of the real endpoints plus the ``/_emulator`` test API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.routing import Route

from . import control, oauth, rest
from .config import SalesforceEmulatorConfig
from .org import SalesforceEmulator


def create_app(config: SalesforceEmulatorConfig, *, http: httpx.AsyncClient | None = None) -> Starlette:
    """Build the emulator; its state is ``app.state.emulator`` (a :class:`SalesforceEmulator`).

    ``http`` carries outbound-message deliveries; tests route it into the gateway's ASGI app
    with ``httpx.ASGITransport``. Without it the sender opens (and on shutdown closes) its own.
    """
    emulator = SalesforceEmulator(config, http=http)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await emulator.outbound.aclose()

    app = Starlette(
        routes=[
            Route("/services/oauth2/token", oauth.token_endpoint, methods=["POST"]),
            Route("/services/oauth2/userinfo", oauth.userinfo_endpoint, methods=["GET", "POST"]),
            *rest.routes,
            *control.routes,
        ],
        lifespan=lifespan,
    )
    app.state.emulator = emulator
    return app
