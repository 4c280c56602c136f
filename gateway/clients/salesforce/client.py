"""The gateway's async Salesforce REST client: Cases, comments, files, users, agent tokens.

Why not simple-salesforce (read in its 1.12.10 source, ``api.py``): it is synchronous (built
on ``requests``), has no timeout on ``create``/``update``, its ``SFType`` calls re-authenticate
in an unbounded loop on repeated 401s, and it offers no transport seam to plug an in-process
emulator into.
This client is built on ``httpx.AsyncClient`` instead: tests hand in
``httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator))``; simple-salesforce stays
in the test suite as an independent witness that the emulator speaks real Salesforce.

Rules it keeps:
- a timeout on every call (also enforced around the transport, which may ignore httpx's);
- on 401 INVALID_SESSION_ID: refresh the token once (single-flight) and retry once; a second
  401 in the same call is an error, never a loop;
- REQUEST_LIMIT_EXCEEDED, UNABLE_TO_LOCK_ROW (also when a Flow or trigger that failed inside
  our write names it as its cause), SERVER_UNAVAILABLE, 5xx, network errors and timeouts →
  :class:`RetryableError`; other 4xx → :class:`PermanentError` with errorCode and message;
  tokens and secrets never appear in errors or logs;
- ``Sforce-Auto-Assign: FALSE`` on every update, so a PATCH never reassigns a Case
  (docs/salesforce.md#case-create-and-update); an upsert that finds its Case sends FALSE too,
  since the header also acts on an upsert's update (docs/salesforce.md#upsert-by-external-id);
- SOQL is built with :func:`~gateway.clients.salesforce.soql.soql_literal`, never by pasting
  a value into the query;
- CaseComment bodies are at most 4,000 UTF-8 bytes (:func:`split_comment` makes chunks;
  docs/salesforce.md#casecomment).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import time
from collections.abc import Mapping
from typing import Any, Self
from urllib.parse import quote

import httpx

from gateway import salesforce_ids
from gateway.clients.salesforce.auth import TokenProvider
from gateway.clients.salesforce.errors import (
    InvalidUserToken,
    SalesforceApiError,
    map_error,
)
from gateway.clients.salesforce.models import SalesforceUser, UpsertResult, UserInfo
from gateway.clients.salesforce.soql import soql_literal
from gateway.errors import PermanentError, RetryableError
from gateway.observability import remote_call

log = logging.getLogger("gateway.clients.salesforce")

COMMENT_MAX_BYTES = 4000
BASE64_MAX_CHARS = 37_500_000  # JSON/base64 ContentVersion upload limit (docs/salesforce.md#files)
_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")  # a field's API name, safe in a path and SOQL
_NEXT_PAGE = re.compile(r"^/services/data/v[0-9]+\.[0-9]+/query/[A-Za-z0-9]+-[0-9]+$")


def split_comment(text: str, limit: int = COMMENT_MAX_BYTES) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` UTF-8 bytes, preferring line breaks.

    Chunks never cut a character in two and join back to ``text`` exactly; a chunk ends
    after the last newline that fits, or at the last whole character when none does.
    An empty text gives no chunks.
    """
    if limit < 4:
        raise ValueError("limit must hold at least one UTF-8 character (4 bytes)")
    data = text.encode("utf-8")
    chunks: list[str] = []
    start = 0
    while len(data) - start > limit:
        cut = start + limit
        while data[cut] & 0xC0 == 0x80:  # never end inside a multi-byte character
            cut -= 1
        newline = data.rfind(b"\n", start, cut)
        if newline >= start:
            cut = newline + 1
        chunks.append(data[start:cut].decode("utf-8"))
        start = cut
    if start < len(data):
        chunks.append(data[start:].decode("utf-8"))
    return chunks


class SalesforceClient:
    """Async REST client for one org; share one instance per process (tokens are cached)."""

    def __init__(
        self,
        instance_url: str,
        client_id: str,
        *,
        client_secret: str | None = None,
        jwt_private_key: str | None = None,
        jwt_username: str | None = None,
        login_url: str = "https://login.salesforce.com",
        api_version: str = "65.0",
        auto_assign_on_create: bool = True,
        http: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._instance = instance_url.rstrip("/")
        self._base = f"{self._instance}/services/data/v{api_version}"
        self._auto_assign = auto_assign_on_create
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient()
        self._timeout = timeout
        self._auth = TokenProvider(
            http=self._http,
            token_url=f"{self._instance}/services/oauth2/token",
            client_id=client_id,
            client_secret=client_secret,
            jwt_private_key=jwt_private_key,
            jwt_username=jwt_username,
            login_url=login_url,
            timeout=timeout,
        )
        self.api_usage: str | None = None  # last Sforce-Limit-Info, e.g. "api-usage=18/100000"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # ---- operations -------------------------------------------------------------------
    async def create_case(self, fields: Mapping[str, object]) -> str:
        """Create a Case; assignment rules run when ``auto_assign_on_create``.

        Salesforce runs them on REST writes unless told not to (docs/salesforce.md#case-create-and-update).
        """
        headers = {"Sforce-Auto-Assign": "TRUE" if self._auto_assign else "FALSE"}
        response = await self._call("POST", "/sobjects/Case", json=dict(fields), headers=headers)
        return _created_id(response)

    async def upsert_case(
        self, external_id_field: str, external_id: str, fields: Mapping[str, object]
    ) -> UpsertResult:
        """Insert the Case whose ``external_id_field`` is ``external_id``, or update it: never two.

        One upsert answers whether it inserted (docs/salesforce.md#upsert-by-external-id), so a
        retry after a lost answer finds the Case the first attempt made. It looks the Case up
        first because ``Sforce-Auto-Assign`` also acts on the update an upsert can turn into:
        the upsert carries the configured header (``auto_assign_on_create``) only when no Case
        holds the value, and FALSE when one does, so a retried upsert never reassigns it.
        Several matching Cases are a permanent error; so is the id field among ``fields``.
        """
        field = _checked_api_name(external_id_field)
        if not external_id:
            raise PermanentError(f"an empty {field} cannot identify a Case")
        if any(name.lower() == field.lower() for name in fields):
            raise PermanentError(f"{field} is the upsert key; it must not be among the fields")
        soql = f"SELECT Id FROM Case WHERE {field} = {soql_literal(external_id)} LIMIT 2"
        found = await self.query(soql)
        if len(found) > 1:
            raise _several_cases(field, external_id)
        assign = self._auto_assign and not found
        headers = {"Sforce-Auto-Assign": "TRUE" if assign else "FALSE"}
        path = f"/sobjects/Case/{field}/{quote(external_id, safe='')}"
        try:
            response = await self._call(
                "PATCH", path, json=dict(fields), headers=headers, operation="PATCH Case upsert"
            )
        except SalesforceApiError as exc:
            if exc.status == 300:  # another writer got in between the look-up and the upsert
                raise _several_cases(field, external_id) from None
            raise
        try:
            body = response.json()
            return UpsertResult(id=str(body["id"]), created=bool(body["created"]))
        except (ValueError, KeyError, TypeError):
            raise PermanentError(
                f"Salesforce answered the upsert with HTTP {response.status_code} without id and created"
            ) from None

    async def query(self, soql: str) -> list[dict[str, Any]]:
        """Every record ``soql`` selects, following ``nextRecordsUrl`` page by page.

        Records come without their ``attributes`` (type and URL): the caller named the object
        in the query, and an API-versioned URL is no data to keep. Build ``soql`` with
        :func:`~gateway.clients.salesforce.soql.soql_literal` for every value.
        """
        page = _query_page(await self._call("GET", "/query", params={"q": soql}))
        records = list(page["records"])
        while not page.get("done", True):
            next_url = page.get("nextRecordsUrl")
            if not isinstance(next_url, str) or not _NEXT_PAGE.match(next_url):
                raise PermanentError("Salesforce answered a query page that is not done without a next page")
            page = _query_page(await self._call("GET", next_url, operation="GET /query"))
            records.extend(page["records"])
        return [_without_attributes(r) for r in records]

    async def get_case(self, case_id: str) -> dict[str, Any]:
        response = await self._call("GET", f"/sobjects/Case/{_checked_id(case_id)}")
        body: dict[str, Any] = response.json()
        return body

    async def update_case(self, case_id: str, fields: Mapping[str, object]) -> None:
        """PATCH a Case without running assignment rules (a PATCH must never reassign it)."""
        headers = {"Sforce-Auto-Assign": "FALSE"}
        await self._call(
            "PATCH", f"/sobjects/Case/{_checked_id(case_id)}", json=dict(fields), headers=headers
        )

    async def create_case_comment(self, case_id: str, body: str, *, is_published: bool = False) -> str:
        size = len(body.encode("utf-8"))
        if size > COMMENT_MAX_BYTES:
            raise PermanentError(
                f"CaseComment body is {size} bytes; Salesforce allows {COMMENT_MAX_BYTES} (use split_comment)"
            )
        payload = {"ParentId": _checked_id(case_id), "CommentBody": body, "IsPublished": is_published}
        return _created_id(await self._call("POST", "/sobjects/CaseComment", json=payload))

    async def upload_file(self, case_id: str, title: str, filename: str, data: bytes) -> str:
        """Attach a file to a Case in one call (ContentVersion with FirstPublishLocationId)."""
        encoded = base64.b64encode(data).decode("ascii")
        if len(encoded) > BASE64_MAX_CHARS:
            raise PermanentError(f"file {filename!r} is too large for a JSON upload ({len(data)} bytes)")
        payload = {
            "Title": title,
            "PathOnClient": filename,
            "VersionData": encoded,
            "FirstPublishLocationId": _checked_id(case_id),
        }
        return _created_id(await self._call("POST", "/sobjects/ContentVersion", json=payload))

    async def get_user(self, user_id: str) -> SalesforceUser:
        path = f"/sobjects/User/{_checked_id(user_id)}"
        body = (await self._call("GET", path, params={"fields": "Id,Name,Email,Username,IsActive"})).json()
        return SalesforceUser(
            id=body["Id"],
            name=body.get("Name") or "",
            email=body.get("Email"),
            username=body.get("Username"),
            is_active=bool(body.get("IsActive", True)),
        )

    async def identity(self) -> UserInfo:
        """Who the gateway acts as (userinfo of its own token): proves the credentials work."""
        return await self.verify_user_token(await self._auth.token())

    async def verify_user_token(self, access_token: str) -> UserInfo:
        """Whose token is this? 401/403 from userinfo → :class:`InvalidUserToken`.

        Callers still compare ``organization_id`` and ``user_id`` (use :func:`gateway.salesforce_ids.same`).
        """
        url = f"{self._instance}/services/oauth2/userinfo"
        response = await self._send("GET", url, access_token, operation="userinfo")
        if response.status_code in (401, 403):
            raise InvalidUserToken("invalid token")
        if response.status_code >= 500 or response.status_code == 429:
            raise RetryableError(f"Salesforce userinfo answered HTTP {response.status_code}")
        try:
            claims = response.json()
            return UserInfo(
                user_id=claims["user_id"],
                organization_id=claims["organization_id"],
                username=claims.get("preferred_username"),
                name=claims.get("name"),
                email=claims.get("email"),
                claims=claims,
            )
        except (ValueError, KeyError, TypeError):
            raise PermanentError(
                f"Salesforce userinfo answered HTTP {response.status_code} without claims"
            ) from None

    # ---- plumbing ---------------------------------------------------------------------
    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        operation: str | None = None,
    ) -> httpx.Response:
        """``path`` is under ``/services/data/vXX.X`` unless it starts with ``/services/``."""
        operation = operation or f"{method} {path.split('/')[2] if path.startswith('/sobjects/') else path}"
        with remote_call("salesforce", operation):
            return await self._checked_call(
                method, path, operation, json=json, headers=headers, params=params
            )

    async def _checked_call(
        self,
        method: str,
        path: str,
        operation: str,
        *,
        json: object = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        url = self._instance + path if path.startswith("/services/") else self._base + path
        token = await self._auth.token()
        response = await self._send(method, url, token, operation, json=json, headers=headers, params=params)
        if response.status_code == 401:
            log.info("Salesforce session invalid during %s; refreshing the token once", operation)
            token = await self._auth.refresh(stale=token)
            response = await self._send(
                method, url, token, operation, json=json, headers=headers, params=params
            )
            if response.status_code == 401:
                raise map_error(response, operation, after_refresh=True)
        if response.status_code >= 300:
            raise map_error(response, operation)
        return response

    async def _send(
        self,
        method: str,
        url: str,
        token: str,
        operation: str,
        *,
        json: object = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        all_headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", **(headers or {})}
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._http.request(
                    method, url, json=json, headers=all_headers, params=params, timeout=self._timeout
                )
        except (TimeoutError, httpx.TimeoutException):
            log.warning("Salesforce %s timed out after %.1fs", operation, self._timeout)
            raise RetryableError(f"Salesforce {operation} timed out after {self._timeout}s") from None
        except httpx.TransportError as exc:
            log.warning("Salesforce %s failed: %s", operation, type(exc).__name__)
            raise RetryableError(f"Salesforce {operation} failed: {type(exc).__name__}") from None
        self.api_usage = response.headers.get("sforce-limit-info", self.api_usage)
        log.debug("Salesforce %s -> %d in %.3fs", operation, response.status_code, time.monotonic() - started)
        return response


def _checked_id(value: str) -> str:
    """Refuse anything but a 15/18-character id before it goes into a URL path."""
    if not salesforce_ids.is_valid(value):
        raise PermanentError(f"not a Salesforce id: {value[:40]!r}")
    return value


def _checked_api_name(value: str) -> str:
    """Refuse anything but a field API name before it goes into a URL path or SOQL."""
    if not _API_NAME.match(value):
        raise PermanentError(f"not a Salesforce field name: {value[:40]!r}")
    return value


def _several_cases(field: str, value: str) -> PermanentError:
    return SalesforceApiError(
        f"Salesforce upsert failed: more than one Case has {field} = {value[:80]!r} (HTTP 300); "
        "an operator must merge or fix them",
        status=300,
        error_code="MULTIPLE_CHOICES",
        fields=[field],
    )


def _query_page(response: httpx.Response) -> dict[str, Any]:
    try:
        page = response.json()
    except ValueError:
        page = None
    if not isinstance(page, dict) or not isinstance(page.get("records"), list):
        raise PermanentError(f"Salesforce answered a query with HTTP {response.status_code} without records")
    return page


def _without_attributes(record: object) -> Any:
    """A record, and the related records inside it, minus every ``attributes`` entry."""
    if isinstance(record, dict):
        return {k: _without_attributes(v) for k, v in record.items() if k != "attributes"}
    return record


def _created_id(response: httpx.Response) -> str:
    try:
        created: str = response.json()["id"]
    except (ValueError, KeyError, TypeError):
        raise PermanentError(f"Salesforce answered HTTP {response.status_code} without an id") from None
    return created
