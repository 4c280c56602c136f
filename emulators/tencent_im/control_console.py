"""Test-API plumbing and the "console" knobs: faults, the callback delivery log and settings, drain.

Split from :mod:`emulators.tencent_im.control` (the users-and-groups side) to keep each module
small; both answer failures with the Tencent envelope and HTTP 400.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulators.faults import Faults
from emulators.tencent_im.emulator import TencentEmulator
from emulators.tencent_im.errors import INVALID_PARAM, TimError, fail, ok

JSON = dict[str, Any]
Endpoint = Callable[[Request], Awaitable[Response]]


def emulator_of(request: Request) -> TencentEmulator:
    emulator: TencentEmulator = request.app.state.emulator
    return emulator


async def read_json(request: Request) -> JSON:
    try:
        body = await request.json()
    except ValueError:
        raise TimError(INVALID_PARAM, "body must be JSON") from None
    if not isinstance(body, dict):
        raise TimError(INVALID_PARAM, "body must be a JSON object")
    return body


async def faults(request: Request) -> Response:
    """GET shows the fault knobs; PUT replaces them (fields of :class:`emulators.faults.Faults`)."""
    emu = emulator_of(request)
    if request.method == "PUT":
        body = await read_json(request)
        try:
            emu.faults = Faults(**{k: val for k, val in body.items() if not k.startswith("_")})
        except TypeError as exc:
            raise TimError(INVALID_PARAM, str(exc)) from None
    f = emu.faults
    return JSONResponse(
        {
            "latency": f.latency,
            "error_ratio": f.error_ratio,
            "error_codes": f.error_codes,
            "forced_errors": f.forced_errors,
            "drop_ratio": f.drop_ratio,
            "seed": f.seed,
        }
    )


async def callback_log(request: Request) -> Response:
    """GET the delivery log (``?command=`` filters); DELETE clears it."""
    emu = emulator_of(request)
    if request.method == "DELETE":
        emu.callbacks.log.clear()
        return JSONResponse(ok())
    command = request.query_params.get("command")
    return JSONResponse(
        {"deliveries": [d.as_json() for d in emu.callbacks.log if command is None or d.command == command]}
    )


async def callback_config(request: Request) -> Response:
    """GET/PUT the console's callback settings.

    Fields: ``url``, ``token``, ``retry_after_callbacks``, ``commands`` (the ticked events).
    """
    config = emulator_of(request).config
    if request.method == "PUT":
        body = await read_json(request)
        if "url" in body:
            config.callback_url = body["url"] or None
        if "token" in body:
            config.callback_token = body["token"] or None
        if "retry_after_callbacks" in body:
            config.retry_after_callbacks = bool(body["retry_after_callbacks"])
        if isinstance(body.get("commands"), list):
            config.callback_commands = frozenset(str(c) for c in body["commands"])
    return JSONResponse(
        {
            "url": config.callback_url,
            "token_set": bool(config.callback_token),
            "retry_after_callbacks": config.retry_after_callbacks,
            "commands": sorted(config.callback_commands),
        }
    )


async def drain(request: Request) -> Response:
    await emulator_of(request).drain()
    return JSONResponse(ok())


def with_errors(handler: Endpoint) -> Endpoint:
    """Admin-API failures answer with the Tencent envelope and HTTP 400."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except TimError as exc:
            return JSONResponse(fail(exc.code, exc.info), status_code=400)

    return wrapped


CONTROL_ROUTES = [
    Route("/_emulator/faults", with_errors(faults), methods=["GET", "PUT"]),
    Route("/_emulator/callbacks", with_errors(callback_log), methods=["GET", "DELETE"]),
    Route("/_emulator/callback-config", with_errors(callback_config), methods=["GET", "PUT"]),
    Route("/_emulator/drain", with_errors(drain), methods=["POST"]),
]
