"""Test and demo API under ``/_emulator``: look inside the org and act like its people.

Tests and the ``demo`` command use it to do what agents and admins do in the Salesforce UI
(reassign, close), to mint an agent's token for the widget flow, and to turn fault and
delivery knobs — all as JSON over HTTP, so it works the same in-process and over loopback.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import fields
from . import rest_errors as err
from .oauth import token_answer
from .operations import OPERATIONS
from .org import SalesforceEmulator
from .records import Record


def _emulator(request: Request) -> SalesforceEmulator:
    emulator: SalesforceEmulator = request.app.state.emulator
    return emulator


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        raise err.ApiError(400, "JSON_PARSER_ERROR", "body is not JSON") from None
    if not isinstance(body, dict):
        raise err.ApiError(400, "JSON_PARSER_ERROR", "body must be a JSON object")
    return body


def _json(record: Record) -> dict[str, Any]:
    return {k: fields.to_json(v) for k, v in record.items() if not k.startswith("_")}


def _file(version: Record) -> dict[str, Any]:
    data: bytes = version["_data"]
    try:
        content, encoding = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        content, encoding = base64.b64encode(data).decode("ascii"), "base64"
    return _json(version) | {"content": content, "content_encoding": encoding}


def _case(request: Request) -> Record:
    case = _emulator(request).records.case(request.path_params["case_id"])
    if case is None:
        raise err.not_found()
    return case


def _handled(func: Callable[[Request], Awaitable[Any]]) -> Callable[[Request], Awaitable[Response]]:
    """Render ApiErrors in the REST shape and plain results as JSON."""

    async def wrapper(request: Request) -> Response:
        try:
            result = await func(request)
        except err.ApiError as exc:
            return exc.response()
        return result if isinstance(result, Response) else JSONResponse(result)

    wrapper.__name__ = func.__name__
    return wrapper


@_handled
async def list_cases(request: Request) -> Any:
    return [_json(c) for c in _emulator(request).records.cases.values()]


@_handled
async def show_case(request: Request) -> Any:
    case = _case(request)
    records = _emulator(request).records
    return _json(case) | {
        "comments": [_json(c) for c in records.comments_of(case["Id"])],
        "files": [_file(v) for v in records.files_of(case["Id"])],
    }


@_handled
async def change_owner(request: Request) -> Any:
    body = await _body(request)
    case = _emulator(request).change_owner(
        _case(request)["Id"], str(body.get("owner_id", "")), by=body.get("by")
    )
    return _json(case)


@_handled
async def close_case(request: Request) -> Any:
    body = await _body(request)
    emulator = _emulator(request)
    case = emulator.close_case(_case(request)["Id"], status=body.get("status", "Closed"), by=body.get("by"))
    return _json(case)


@_handled
async def users(request: Request) -> Any:
    emulator = _emulator(request)
    if request.method == "POST":
        body = await _body(request)
        try:
            user = emulator.directory.add_user(str(body["name"]), str(body["email"]), str(body["username"]))
        except (KeyError, ValueError) as exc:
            raise err.ApiError(400, "INVALID_INPUT", str(exc)) from None
        return JSONResponse({"id": user.id} | user.record(), status_code=201)
    return {
        "users": [u.record() for u in emulator.directory.users.values()],
        "queues": [dataclasses.asdict(q) for q in emulator.directory.queues.values()],
        "integration_user_id": emulator.integration_user.id,
        "support_queue_id": emulator.support_queue.id,
        "org_id": emulator.config.org_id,
    }


@_handled
async def user_token(request: Request) -> Any:
    """An agent's access token, as if they had logged in to a connected app (widget tests)."""
    emulator = _emulator(request)
    user = emulator.directory.user(request.path_params["user_id"])
    if user is None:
        raise err.not_found()
    token = emulator.tokens.issue(user.id, emulator.config.client_id, grant="user", scope="api id openid")
    return token_answer(request, emulator, token)


@_handled
async def expire_tokens(request: Request) -> Any:
    return {"expired": _emulator(request).tokens.expire_all()}


@_handled
async def faults(request: Request) -> Any:
    """GET shows the fault knobs; PUT sets those it names (:mod:`emulators.faults`, :mod:`.operations`).

    The knobs are checked on a copy first, so a refused PUT changes nothing.
    """
    live = _emulator(request).faults
    if request.method == "PUT":
        body = await _body(request)
        unknown = set(body) - set(live.knobs())
        if unknown:
            raise err.ApiError(400, "INVALID_INPUT", f"unknown fault knobs: {sorted(unknown)}")
        try:
            candidate = dataclasses.replace(live, **body)
            candidate.check(OPERATIONS)
        except (TypeError, ValueError) as exc:
            raise err.ApiError(400, "INVALID_INPUT", str(exc)) from None
        for name, value in candidate.knobs().items():
            setattr(live, name, value)  # the same object: the outbound sender shares it
        live.__post_init__()  # reseed, so a test's fault sequence is repeatable
    return live.knobs()


@_handled
async def outbound_settings(request: Request) -> Any:
    emulator = _emulator(request)
    settings = emulator.outbound.settings
    if request.method == "PUT":
        body = await _body(request)
        known = {f.name for f in dataclasses.fields(settings)}
        unknown = set(body) - known
        if unknown:
            raise err.ApiError(400, "INVALID_INPUT", f"unknown outbound knobs: {sorted(unknown)}")
        for name, value in body.items():
            setattr(settings, name, value)
        emulator.outbound.poke()
    shown = dataclasses.asdict(settings)
    shown["secret"] = "***" if settings.secret else None
    return shown | {"action_ids": emulator.action_ids}


@_handled
async def outbound_log(request: Request) -> Any:
    sender = _emulator(request).outbound
    return {
        "deliveries": [d.as_json() for d in sender.log],
        "pending": [
            {
                "notification_id": p.notification_id,
                "trigger": p.trigger,
                "record_id": p.record_id,
                "attempts": p.attempts,
            }
            for p in sender.pending()
        ],
        "delivered": sender.delivered,
        "given_up": sender.given_up,
    }


@_handled
async def outbound_drain(request: Request) -> Any:
    body = await _body(request)
    try:
        await _emulator(request).outbound.drain(float(body.get("timeout", 30.0)))
    except TimeoutError:
        return JSONResponse({"drained": False}, status_code=504)
    return {"drained": True}


routes = [
    Route("/_emulator/cases", list_cases, methods=["GET"]),
    Route("/_emulator/cases/{case_id}", show_case, methods=["GET"]),
    Route("/_emulator/cases/{case_id}/owner", change_owner, methods=["POST"]),
    Route("/_emulator/cases/{case_id}/close", close_case, methods=["POST"]),
    Route("/_emulator/users", users, methods=["GET", "POST"]),
    Route("/_emulator/users/{user_id}/token", user_token, methods=["POST"]),
    Route("/_emulator/tokens/expire", expire_tokens, methods=["POST"]),
    Route("/_emulator/faults", faults, methods=["GET", "PUT"]),
    Route("/_emulator/outbound", outbound_settings, methods=["GET", "PUT"]),
    Route("/_emulator/outbound/log", outbound_log, methods=["GET"]),
    Route("/_emulator/outbound/drain", outbound_drain, methods=["POST"]),
]
