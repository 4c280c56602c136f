"""REST API ``/services/data/vXX.X/...``: sObjects, upsert by external id, and SOQL queries.

Each request passes the same gates as the real API, in this order: API version (31.0-68.0,
else 404), bearer token (else 401 INVALID_SESSION_ID), daily request limit (403
REQUEST_LIMIT_EXCEEDED), injected faults (the operation's own, then the global ones;
:mod:`.operations`); then the object's own rules. Every answer after the token check carries
``Sforce-Limit-Info``. An operation told to lose its answer does its work first, then holds
the answer (:meth:`emulators.faults.Faults.hold_answer`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import fields, ids, query
from . import rest_errors as err
from .operations import QUERY
from .org import SalesforceEmulator
from .records import Record
from .tokens import Token

MIN_VERSION, MAX_VERSION = 31, 68
_VERSION = re.compile(r"^v(\d+)\.0$")
ALL_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD"]

Handler = Callable[[Request, SalesforceEmulator, Token], Awaitable[Response]]


def _supported(version: str) -> bool:
    match = _VERSION.match(version)
    return match is not None and MIN_VERSION <= int(match.group(1)) <= MAX_VERSION


async def _guarded(request: Request, handler: Handler, operation: str) -> Response:
    emulator: SalesforceEmulator = request.app.state.emulator
    if not _supported(request.path_params["version"]):
        # Unverified: the real answer's message for an unknown version
        # (docs/salesforce.md#api-limits-and-versions); shape as every REST error.
        return err.not_found().response()
    token = emulator.tokens.from_header(request.headers.get("authorization"))
    if token is None:
        return err.invalid_session().response()
    emulator.api_usage += 1
    limit = emulator.config.daily_api_limit
    headers = {"Sforce-Limit-Info": f"api-usage={emulator.api_usage}/{limit}"}
    try:
        if emulator.api_usage > limit:
            raise err.ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        await emulator.faults.delay()
        if code := emulator.faults.next_error(operation):
            raise err.fault(code)
        response = await handler(request, emulator, token)
        response.headers.update(headers)
    except err.ApiError as exc:
        response = exc.response(headers)
    if emulator.faults.lose_answer(operation):
        await emulator.faults.hold_answer(request.is_disconnected)
    return response


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"null")
    except (ValueError, UnicodeDecodeError):
        raise err.ApiError(400, "JSON_PARSER_ERROR", "Unexpected character in request body") from None
    if not isinstance(body, dict):
        raise err.ApiError(
            400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from request body"
        )
    return body


def _auto_assign(request: Request) -> bool:
    """``Sforce-Auto-Assign``: default TRUE; FALSE skips assignment rules (an 01Q… id = TRUE)."""
    return request.headers.get("sforce-auto-assign", "TRUE").strip().upper() != "FALSE"


def _created(record_id: str) -> JSONResponse:
    return JSONResponse({"id": record_id, "success": True, "errors": []}, status_code=201)


def _render(record: Record, sobject: str, version: str, wanted: str | None) -> JSONResponse:
    visible = {k: v for k, v in record.items() if not k.startswith("_")}
    if sobject == "ContentVersion":
        visible["VersionData"] = (
            f"/services/data/{version}/sobjects/ContentVersion/{record['Id']}/VersionData"
        )
    if wanted:
        names = [n.strip() for n in wanted.split(",") if n.strip()]
        for name in names:
            if name not in visible:
                raise err.no_such_field(name, sobject)
        visible = {n: visible[n] for n in names}
    url = f"/services/data/{version}/sobjects/{sobject}/{record['Id']}"
    body = {"attributes": {"type": sobject, "url": url}} | {k: fields.to_json(v) for k, v in visible.items()}
    return JSONResponse(body)


def _method_not_allowed(method: str, allowed: str) -> err.ApiError:
    return err.ApiError(
        405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are {allowed}"
    )


async def _collection(request: Request, emulator: SalesforceEmulator, token: Token) -> Response:
    sobject = request.path_params["sobject"]
    if sobject not in ("Case", "CaseComment", "ContentVersion", "User"):
        raise err.not_found()
    if request.method != "POST" or sobject == "User":
        raise _method_not_allowed(request.method, "GET,POST" if sobject != "User" else "GET")
    body = await _json_body(request)
    now = emulator.now()
    if sobject == "Case":
        case = emulator.create_case(body, user_id=token.user_id, auto_assign=_auto_assign(request))
        return _created(case["Id"])
    if sobject == "CaseComment":
        values = fields.check_write(sobject, fields.CASE_COMMENT, body)
        return _created(emulator.records.create_comment(values, user_id=token.user_id, now=now)["Id"])
    values = fields.check_write(sobject, fields.CONTENT_VERSION, body)
    return _created(emulator.records.create_version(values, user_id=token.user_id, now=now)["Id"])


async def _row(request: Request, emulator: SalesforceEmulator, token: Token) -> Response:
    sobject = request.path_params["sobject"]
    raw_id = request.path_params["record_id"]
    version = request.path_params["version"]
    try:
        record_id = ids.to18(raw_id)
    except ValueError:
        raise err.not_found(
            f"Provided external ID field does not exist or is not accessible: {raw_id}"
        ) from None
    stores: dict[str, dict[str, Record]] = {
        "Case": emulator.records.cases,
        "CaseComment": emulator.records.comments,
        "ContentVersion": emulator.records.versions,
        "User": {u.id: u.record() for u in emulator.directory.users.values()},
    }
    if sobject not in stores:
        raise err.not_found()
    record = stores[sobject].get(record_id)
    if record is None:
        raise err.not_found()
    if request.method == "GET":
        return _render(record, sobject, version, request.query_params.get("fields"))
    if request.method == "PATCH" and sobject == "Case":
        body = await _json_body(request)
        emulator.update_case(record_id, body, user_id=token.user_id, auto_assign=_auto_assign(request))
        return Response(status_code=204)
    raise _method_not_allowed(request.method, "GET,PATCH,HEAD" if sobject == "Case" else "GET,HEAD")


async def _upsert(request: Request, emulator: SalesforceEmulator, token: Token) -> Response:
    """``PATCH …/sobjects/Case/{field}/{value}``: 201 ``created: true`` or 200 ``created: false``.

    The answer shapes of API 46.0 and later (docs/salesforce.md#upsert-by-external-id).
    """
    sobject = request.path_params["sobject"]
    if sobject != "Case":
        raise err.not_found()
    if request.method != "PATCH":
        raise _method_not_allowed(request.method, "PATCH")  # GET by external id is not emulated
    body = await _json_body(request)
    try:
        case, created = emulator.upsert_case(
            request.path_params["field"],
            request.path_params["value"],
            body,
            user_id=token.user_id,
            auto_assign=_auto_assign(request),
        )
    except err.MultipleMatches as exc:
        exc.version = request.path_params["version"]
        raise
    answer = {"id": case["Id"], "success": True, "errors": [], "created": created}
    return JSONResponse(answer, status_code=201 if created else 200)


async def _query(request: Request, emulator: SalesforceEmulator, token: Token) -> Response:
    """``GET …/query?q=SOQL`` (the subset of :mod:`.soql`), first page."""
    if request.method != "GET":
        raise _method_not_allowed(request.method, "GET,HEAD")
    text = request.query_params.get("q")
    if not text:
        # Unverified: the message for a missing q.
        raise err.ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
    version = request.path_params["version"]
    rows = query.run(text, _query_sources(emulator), version)
    return JSONResponse(emulator.cursors.first_page(rows, version))


async def _query_more(request: Request, emulator: SalesforceEmulator, token: Token) -> Response:
    """``GET …/query/{locator}-{offset}``: a further page of an earlier query."""
    if request.method != "GET":
        raise _method_not_allowed(request.method, "GET,HEAD")
    version = request.path_params["version"]
    return JSONResponse(emulator.cursors.next_page(request.path_params["locator"], version))


def _query_sources(emulator: SalesforceEmulator) -> dict[str, list[Record]]:
    records = emulator.records
    return {
        "Case": list(records.cases.values()),
        "CaseComment": list(records.comments.values()),
        "ContentVersion": list(records.versions.values()),
        "User": [u.record() for u in emulator.directory.users.values()],
    }


async def _unknown(request: Request, emulator: SalesforceEmulator, token: Token) -> Response:
    raise err.not_found()


def _operation(request: Request, verb: str) -> str:
    return f"{request.path_params['sobject']}.{verb}"


async def collection(request: Request) -> Response:
    verb = "create" if request.method == "POST" else request.method.lower()
    return await _guarded(request, _collection, _operation(request, verb))


async def row(request: Request) -> Response:
    verb = {"GET": "get", "HEAD": "get", "PATCH": "update"}.get(request.method, request.method.lower())
    return await _guarded(request, _row, _operation(request, verb))


async def upsert(request: Request) -> Response:
    return await _guarded(request, _upsert, _operation(request, "upsert"))


async def soql_query(request: Request) -> Response:
    return await _guarded(request, _query, QUERY)


async def soql_query_more(request: Request) -> Response:
    return await _guarded(request, _query_more, QUERY)


async def unknown(request: Request) -> Response:
    return await _guarded(request, _unknown, "unknown")


async def versions(request: Request) -> Response:
    """``GET /services/data``: the supported versions (no auth needed, like the real one)."""
    return JSONResponse(
        [
            {"label": f"v{n}.0", "url": f"/services/data/v{n}.0", "version": f"{n}.0"}
            for n in range(MIN_VERSION, MAX_VERSION + 1)
        ]
    )


routes = [
    Route("/services/data", versions, methods=["GET"]),
    Route("/services/data/", versions, methods=["GET"]),
    Route("/services/data/{version}/sobjects/{sobject}", collection, methods=ALL_METHODS),
    Route("/services/data/{version}/sobjects/{sobject}/", collection, methods=ALL_METHODS),
    Route("/services/data/{version}/sobjects/{sobject}/{record_id}", row, methods=ALL_METHODS),
    Route("/services/data/{version}/sobjects/{sobject}/{field}/{value}", upsert, methods=ALL_METHODS),
    Route("/services/data/{version}/query", soql_query, methods=ALL_METHODS),
    Route("/services/data/{version}/query/", soql_query, methods=ALL_METHODS),
    Route("/services/data/{version}/query/{locator}", soql_query_more, methods=ALL_METHODS),
    Route("/services/data/{version}/{rest:path}", unknown, methods=ALL_METHODS),
]
