"""Third-party callbacks: how Tencent IM POSTs group events to the app's one callback URL.

As the "Callbacks" sections of docs/tencent-im.md describe: the query string (SdkAppid, CallbackCommand,
contenttype=json, ClientIP, OptPlatform, and Sign/RequestTime when a token is set, with
Sign = sha256_hex(token + RequestTime)), a 2 s timeout, After-callbacks fired in the background
after the API has answered and not retried unless ``retry_after_callbacks`` is on (then
duplicates are possible), and Before-callbacks awaited inline with "allow" as the outcome of
any timeout or failure. Every attempt lands in :attr:`CallbackDispatcher.log` for tests.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from emulators.tencent_im.config import TencentEmulatorConfig

JSON = dict[str, Any]
log = logging.getLogger("emulators.tencent_im.callbacks")


@dataclass
class Delivery:
    """One attempt to deliver a callback; ``outcome`` is delivered/failed/timeout/dropped."""

    command: str
    url: str
    query: dict[str, str]
    body: JSON
    attempt: int
    outcome: str
    http_status: int | None
    reply: JSON | None
    error: str | None
    at: float

    def as_json(self) -> JSON:
        return dict(self.__dict__)


class CallbackDispatcher:
    """Sends callbacks through an ``httpx.AsyncClient`` (injectable, so tests can use ASGITransport)."""

    def __init__(self, config: TencentEmulatorConfig, http: httpx.AsyncClient | None) -> None:
        self.config = config
        self._http = http
        self._owns_http = http is None
        self._tasks: set[asyncio.Task[None]] = set()
        self.log: list[Delivery] = []

    def enabled(self, command: str) -> bool:
        """Whether a URL is set and this event is ticked in the "console"."""
        return bool(self.config.callback_url) and command in self.config.callback_commands

    def fire_after(self, command: str, body: JSON, *, client_ip: str, platform: str) -> None:
        """Schedule an After-callback in the background; the API answer does not wait for it."""
        if not self.enabled(command):
            return
        task = asyncio.get_running_loop().create_task(self._after(command, body, client_ip, platform))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def call_before(self, command: str, body: JSON, *, client_ip: str, platform: str) -> JSON | None:
        """Deliver a Before-callback and return the app's JSON reply, or ``None`` to mean "allow".

        Before-callbacks are never retried; a timeout, non-200 or non-JSON reply lets the action
        through (the console's default policy).
        """
        if not self.enabled(command):
            return None
        delivery = await self._deliver(command, body, client_ip, platform, attempt=1)
        return delivery.reply if delivery.outcome == "delivered" else None

    async def drain(self) -> None:
        """Wait until every in-flight After-callback (and its retries) has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """Finish in-flight deliveries, then close the HTTP client if the dispatcher created it."""
        await self.drain()
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _after(self, command: str, body: JSON, client_ip: str, platform: str) -> None:
        attempts = 1 + (self.config.callback_max_retries if self.config.retry_after_callbacks else 0)
        for attempt in range(1, attempts + 1):
            delivery = await self._deliver(command, body, client_ip, platform, attempt=attempt)
            # A dropped request looks like a timeout to the sender, so it is retried the same way.
            if delivery.outcome == "delivered" or attempt == attempts:
                return
            await asyncio.sleep(self.config.callback_retry_delay)

    def query(self, command: str, client_ip: str, platform: str) -> dict[str, str]:
        """The documented query string; Sign covers only token + RequestTime, not the body."""
        params = {
            "SdkAppid": str(self.config.sdkappid),
            "CallbackCommand": command,
            "contenttype": "json",
            "ClientIP": client_ip,
            "OptPlatform": platform,
        }
        token = self.config.callback_token
        if token:
            request_time = str(int(self.config.clock()))
            params["Sign"] = hashlib.sha256((token + request_time).encode()).hexdigest()
            params["RequestTime"] = request_time
        return params

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self.config.callback_timeout)
        return self._http

    async def _deliver(
        self, command: str, body: JSON, client_ip: str, platform: str, *, attempt: int
    ) -> Delivery:
        url = str(self.config.callback_url)
        params = self.query(command, client_ip, platform)
        full_body: JSON = {"CallbackCommand": command, **body}
        status: int | None = None
        reply: JSON | None = None
        error: str | None = None
        if self.config.faults.drop():
            outcome = "dropped"
        else:
            outcome, status, reply, error = await self._post(url, params, full_body)
        delivery = Delivery(
            command, url, params, full_body, attempt, outcome, status, reply, error, self.config.clock()
        )
        self.log.append(delivery)
        log.debug("callback %s attempt %d: %s", command, attempt, outcome)
        return delivery

    async def _post(
        self, url: str, params: dict[str, str], body: JSON
    ) -> tuple[str, int | None, JSON | None, str | None]:
        # ASGITransport ignores httpx timeouts, so the 2 s limit is enforced here as well.
        timeout = self.config.callback_timeout
        try:
            response = await asyncio.wait_for(
                self._client().post(url, params=params, json=body, timeout=timeout), timeout
            )
        except (TimeoutError, httpx.TimeoutException):
            return "timeout", None, None, "no answer within the callback timeout"
        except httpx.HTTPError as exc:
            return "failed", None, None, f"{type(exc).__name__}: {exc}"
        if response.status_code != 200:
            return "failed", response.status_code, None, "non-200 answer"
        try:
            reply = response.json()
        except ValueError:
            return "failed", 200, None, "answer is not JSON"
        if not isinstance(reply, dict):
            return "failed", 200, None, "answer is not a JSON object"
        return "delivered", 200, reply, None


def describe(deliveries: list[Delivery], match: Callable[[Delivery], bool] | None = None) -> list[JSON]:
    """The delivery log as JSON (optionally filtered), for the test API."""
    return [d.as_json() for d in deliveries if match is None or match(d)]
