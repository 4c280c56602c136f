"""The Starlette app: the v4 REST routes plus the ``/_emulator`` test routes around one emulator.

Tests use it in-process (``httpx.ASGITransport(app=create_app(...))``) and read
``app.state.emulator``; ``tim-gateway emulate tencent`` serves it with uvicorn.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette

from emulators.tencent_im import control, rest
from emulators.tencent_im.config import TencentEmulatorConfig
from emulators.tencent_im.emulator import TencentEmulator


def create_app(config: TencentEmulatorConfig, *, http: httpx.AsyncClient | None = None) -> Starlette:
    """Build the emulator app; ``http`` (optional) carries the outgoing callbacks.

    Without ``http`` the emulator opens its own client on the first callback and closes it on
    shutdown (lifespan) or :meth:`TencentEmulator.aclose`.
    """
    emulator = TencentEmulator(config, http)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await emulator.aclose()

    app = Starlette(routes=[*rest.ROUTES, *control.ROUTES], lifespan=lifespan)
    app.state.emulator = emulator
    return app


def main_app_from_env(
    environ: Mapping[str, str] | None = None,
    callback_url: str | None = None,
    *,
    http: httpx.AsyncClient | None = None,
) -> Starlette:
    """``create_app`` configured from ``TIM_*`` variables (``os.environ`` when ``environ`` is None)."""
    config = TencentEmulatorConfig.from_env(os.environ if environ is None else environ, callback_url)
    return create_app(config, http=http)
