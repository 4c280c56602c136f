"""The ASGI middleware every route shares: a request id, a cap on request body size, and a 500 for bugs.

One plain ASGI class rather than two, or Starlette's ``BaseHTTPMiddleware``: every wrapper
around ``send`` and ``receive`` costs a call per message on the hottest path (see
``bench/ingest.py``), so ``receive`` is wrapped only for bodies without a declared length
(the server itself stops a body at its ``Content-Length``), and the ``send`` wrapper is a
plain function that hands back ``send``'s own awaitable. A ``receive`` wrapper can refuse an
oversized chunked body while it is still streaming in, before it is buffered.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import secrets
from collections.abc import Awaitable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.observability import request_id

# The logger the 500's log line has always come from, so log searches still find it.
log = logging.getLogger("gateway.app")

# What a caller learns of a bug: that it happened, not where (the log keeps the traceback).
INTERNAL_ERROR = {"error": "internal_error", "detail": "the gateway failed; see its logs"}

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class _BodyTooLarge(Exception):
    pass


# Ids need to be unique, not secret: a random prefix per process and a counter cost far less
# than 16 random bytes from the kernel on every request.
_PROCESS_PREFIX = secrets.token_hex(8)
_NEXT_REQUEST = itertools.count(1)


def new_request_id() -> str:
    """32 hex characters, unique across processes (the prefix) and requests (the counter)."""
    return f"{_PROCESS_PREFIX}{next(_NEXT_REQUEST):016x}"


class RequestGuardMiddleware:
    """Tag every request with an id, answer 413 to bodies larger than ``max_bytes``, and 500 to bugs.

    The id is echoed as ``X-Request-ID`` and attached to every log line the request causes. A
    caller's own id is kept when it is short and plain, so a trace can cross systems; anything
    else is replaced, so a header cannot inject text into our logs.

    A declared ``Content-Length`` over the limit is refused before a byte is read; a chunked
    body is counted as it arrives and refused the moment it crosses the limit.

    An exception from a route is answered here, not by a Starlette exception handler: those run
    in ``ServerErrorMiddleware``, outside this middleware, so their 500 would carry no
    ``X-Request-ID``, and Starlette re-raises after them, so the server would log the traceback
    a second time without the id. Here the error is logged once, with the id and the traceback,
    and not re-raised. Catching costs nothing until something is raised.
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
        current = given if _SAFE_REQUEST_ID.match(given) else new_request_id()
        id_header = (b"x-request-id", current.encode())
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit():
            if int(declared) > self.max_bytes:
                await self._refuse(send, id_header)
                return
            guarded_receive = receive  # the server delivers no more than the declared length
        else:
            guarded_receive = self._counting(receive)

        token = request_id.set(current)
        # Also on the request's state: Starlette's outermost error handler runs after we reset.
        scope.setdefault("state", {})["request_id"] = current
        response_started = False

        def send_with_id(message: Message) -> Awaitable[None]:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                message["headers"] = [*message.get("headers", ()), id_header]
            return send(message)

        try:
            await self.app(scope, guarded_receive, send_with_id)
        except _BodyTooLarge:
            if not response_started:
                await self._refuse(send, id_header)
        except Exception as exc:
            await self._internal_error(exc, send, id_header, response_started=response_started)
        finally:
            request_id.reset(token)

    def _counting(self, receive: Receive) -> Receive:
        """``receive`` that raises once the body read so far exceeds the limit."""
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        return counting_receive

    async def _refuse(self, send: Send, id_header: tuple[bytes, bytes]) -> None:
        error = {"error": "payload_too_large", "detail": f"request body exceeds {self.max_bytes} bytes"}
        await _send_json(send, 413, error, id_header)

    async def _internal_error(
        self, exc: Exception, send: Send, id_header: tuple[bytes, bytes], *, response_started: bool
    ) -> None:
        """Log a route's bug once, and answer 500 unless the response has already begun.

        Once the status line is sent nothing can be sent in its place, and ending the body
        would pass a truncated response off as whole; returning with the body unfinished makes
        the server close the connection (uvicorn notes that, in one line, without a traceback).
        """
        log.error(
            "unhandled error",
            exc_info=exc,
            extra={"request_id": id_header[1].decode(), "response_started": response_started},
        )
        if not response_started:
            await _send_json(send, 500, INTERNAL_ERROR, id_header)


async def _send_json(send: Send, status: int, error: dict[str, str], id_header: tuple[bytes, bytes]) -> None:
    """A whole JSON response, after which the connection closes (the request body may be unread)."""
    body = json.dumps(error).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"connection", b"close"),
        (b"content-length", str(len(body)).encode()),
        id_header,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
