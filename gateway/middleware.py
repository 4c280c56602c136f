"""The ASGI middleware every route shares: a request id, and a cap on request body size.

One plain ASGI class rather than two, or Starlette's ``BaseHTTPMiddleware``: every wrapper
around ``send`` and ``receive`` costs a coroutine call per message on the hottest path (see
``bench/ingest.py``), and a plain ``receive`` wrapper can refuse an oversized body while it is
still streaming in, before it is buffered.
"""

from __future__ import annotations

import json
import re
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.observability import request_id

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class _BodyTooLarge(Exception):
    pass


class RequestGuardMiddleware:
    """Tag every request with an id, and answer 413 to bodies larger than ``max_bytes``.

    The id is echoed as ``X-Request-ID`` and attached to every log line the request causes. A
    caller's own id is kept when it is short and plain, so a trace can cross systems; anything
    else is replaced, so a header cannot inject text into our logs.

    A declared ``Content-Length`` over the limit is refused before a byte is read; a chunked
    body is counted as it arrives and refused the moment it crosses the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        current = given if _SAFE_REQUEST_ID.match(given) else secrets.token_hex(16)
        id_header = (b"x-request-id", current.encode())
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send, id_header)
            return

        token = request_id.set(current)
        # Also on the request's state: Starlette's outermost error handler runs after we reset.
        scope.setdefault("state", {})["request_id"] = current
        received = 0
        response_started = False

        async def guarded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            await self.app(scope, guarded_receive, send_with_id)
        except _BodyTooLarge:
            if not response_started:
                await self._refuse(send, id_header)
        finally:
            request_id.reset(token)

    async def _refuse(self, send: Send, id_header: tuple[bytes, bytes]) -> None:
        body = json.dumps(
            {"error": "payload_too_large", "detail": f"request body exceeds {self.max_bytes} bytes"}
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"connection", b"close"),
            (b"content-length", str(len(body)).encode()),
            id_header,
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
