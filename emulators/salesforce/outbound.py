"""The background sender of outbound messages, with Salesforce's delivery semantics.

Salesforce queues a notification per triggering change and a background process POSTs them:
up to 100 per request, 60 s per attempt, exponential backoff capped at 2 h, dropped after
24 h, only a SOAP ``Ack`` true counts (docs/salesforce.md#outbound-delivery,
#outbound-acknowledgement). Out-of-order and duplicate delivery are normal there, so knobs
produce them here on purpose. The record is rendered at send time, so a notification carries
the latest data, not the data of its change.

The dispatcher is started lazily by :meth:`OutboundSender.enqueue` and ends itself when
nothing is left, so tests on ``httpx.ASGITransport`` (no lifespan) leave no task behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from urllib.parse import quote

import httpx

from emulators.faults import Faults

from .config import OutboundSettings
from .outbound_log import Delivery, Pending
from .outbound_xml import is_ack

log = logging.getLogger("emulators.salesforce.outbound")

Render = Callable[[str, list[tuple[str, str]]], bytes]


class OutboundSender:
    """Queue, batch, send, retry; keeps a log and lets tests wait for quiescence."""

    def __init__(
        self,
        settings: OutboundSettings,
        *,
        render: Render,
        new_id: Callable[[], str],
        faults: Faults,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.settings = settings
        self._render = render
        self._new_id = new_id
        self._faults = faults
        self._http = http
        self._owns_http = http is None
        self._rng = random.Random(settings.seed)
        self._pending: list[Pending] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.log: list[Delivery] = []
        self.delivered: list[str] = []
        self.given_up: list[str] = []

    def endpoint(self, trigger: str) -> str:
        """``{outbound_url}/salesforce/outbound/{trigger}[?token=secret]`` (the gateway's route)."""
        if not self.settings.url:
            raise RuntimeError("no outbound URL configured")
        url = f"{self.settings.url.rstrip('/')}/salesforce/outbound/{trigger}"
        if self.settings.secret:
            url += "?token=" + quote(self.settings.secret, safe="")
        return url

    def enqueue(self, trigger: str, record_id: str) -> str | None:
        """Queue one notification; ``None`` (nothing queued) when no outbound URL is set."""
        if not self.settings.url:
            log.info("no outbound URL; %s notification for %s not queued", trigger, record_id)
            return None
        now = time.monotonic()
        item = Pending(self._new_id(), trigger, record_id, now, now + max(0.0, self.settings.delay))
        self._pending.append(item)
        self._idle.clear()
        self._wake.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
        return item.notification_id

    def pending(self) -> list[Pending]:
        return list(self._pending)

    def pause(self) -> None:
        self.settings.paused = True

    def resume(self) -> None:
        self.settings.paused = False
        self._wake.set()

    def poke(self) -> None:
        """Re-read the settings now (the test API calls this after changing knobs)."""
        self._rng = random.Random(self.settings.seed)
        self._wake.set()

    async def drain(self, within: float = 30.0) -> None:
        """Wait until every queued notification was acknowledged or given up.

        Raises ``TimeoutError`` after ``within`` seconds (e.g. while paused).
        """
        async with asyncio.timeout(within):
            await self._idle.wait()

    async def aclose(self) -> None:
        """Stop sending (queued notifications stay queued) and close an owned HTTP client."""
        for task in [*self._tasks, *([self._task] if self._task else [])]:
            task.cancel()
        await asyncio.gather(*self._tasks, *([self._task] if self._task else []), return_exceptions=True)
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    # ---- dispatcher -------------------------------------------------------------------
    async def _run(self) -> None:
        try:
            while self._pending or self._tasks:
                self._wake.clear()
                now = time.monotonic()
                waiting = [p for p in self._pending if not p.in_flight]
                if not self.settings.paused:
                    due = [p for p in waiting if p.next_attempt_at <= now]
                    for trigger, batch in self._batches(due):
                        self._spawn(trigger, batch)
                    waiting = [p for p in waiting if not p.in_flight]
                timeout = None
                if waiting and not self.settings.paused:
                    timeout = max(0.0, min(p.next_attempt_at for p in waiting) - now)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
        finally:
            self._task = None
            if not self._pending:
                self._idle.set()

    def _batches(self, due: list[Pending]) -> list[tuple[str, list[Pending]]]:
        if self.settings.reorder:
            self._rng.shuffle(due)
        size = max(1, min(100, self.settings.batch_size))
        by_trigger: dict[str, list[Pending]] = {}
        for item in due:
            by_trigger.setdefault(item.trigger, []).append(item)
        batches = [
            (trigger, items[start : start + size])
            for trigger, items in by_trigger.items()
            for start in range(0, len(items), size)
        ]
        if self.settings.reorder:
            self._rng.shuffle(batches)
        return batches

    def _spawn(self, trigger: str, batch: list[Pending]) -> None:
        for item in batch:
            item.in_flight = True
        task = asyncio.get_running_loop().create_task(self._deliver(trigger, batch))
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._wake.set()

    async def _deliver(self, trigger: str, batch: list[Pending]) -> None:
        acked = False
        try:
            url = self.endpoint(trigger)
            body = self._render(trigger, [(p.notification_id, p.record_id) for p in batch])
            for _ in range(max(1, self.settings.duplicate)):
                acked = await self._post(trigger, url, body, batch) or acked
        except Exception as exc:  # a rendering bug must not kill the dispatcher
            log.exception("outbound delivery failed before sending")
            self.log.append(Delivery(trigger, "", [p.notification_id for p in batch], None, False, repr(exc)))
        finally:
            self._settle(batch, acked)

    async def _post(self, trigger: str, url: str, body: bytes, batch: list[Pending]) -> bool:
        shown = url.split("?token=", 1)[0] + ("?token=***" if "?token=" in url else "")
        entry = Delivery(trigger, shown, [p.notification_id for p in batch], None, False, None)
        self.log.append(entry)
        if self._faults.drop():
            entry.error = "dropped"  # lost on the way: Salesforce sees no answer and retries
            return False
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
        timeout = self.settings.attempt_timeout
        try:
            async with asyncio.timeout(timeout):
                response = await self._client().post(url, content=body, headers=headers, timeout=timeout)
        except TimeoutError:
            entry.error = "timeout"
            return False
        except httpx.HTTPError as exc:
            entry.error = f"{type(exc).__name__}: {exc}"
            return False
        entry.status = response.status_code
        entry.acked = is_ack(response.status_code, response.content)
        if not entry.acked:
            entry.error = "no ACK"
        return entry.acked

    def _settle(self, batch: list[Pending], acked: bool) -> None:
        now = time.monotonic()
        s = self.settings
        for item in batch:
            item.in_flight = False
            item.attempts += 1
            if acked:
                self._pending.remove(item)
                self.delivered.append(item.notification_id)
            elif now - item.enqueued_at >= s.max_age:
                self._pending.remove(item)
                self.given_up.append(item.notification_id)
                log.warning(
                    "outbound notification %s given up after %d attempts", item.notification_id, item.attempts
                )
            else:
                item.next_attempt_at = now + min(s.backoff_cap, s.backoff_base * 2 ** (item.attempts - 1))
        self._wake.set()

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient()
        return self._http
