"""Structured JSON logs and Prometheus metrics: how operators see what the gateway does.

prometheus-client is the reference implementation of the exposition format, so /metrics is
scraped by any Prometheus-compatible system without surprises. Logs are one JSON object per
line (a field per fact, a request id to tie lines together) because support teams feed them
to a log search, not a terminal. A redacting filter scrubs every configured secret value from
every line as a last line of defence: code never logs secrets on purpose, and this makes an
accident harmless.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import time
from collections.abc import Iterable, Iterator

from prometheus_client import Counter, Gauge, Histogram

from gateway.errors import PermanentError, RetryableError
from gateway.events import InboxStats

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

EVENTS_RECEIVED = Counter(
    "gateway_events_received_total",
    "Inbound events stored in the inbox (duplicates excluded)",
    ["source", "kind"],
)
EVENTS_DUPLICATE = Counter(
    "gateway_events_duplicate_total",
    "Inbound events recognised as redeliveries and not stored again",
    ["source", "kind"],
)
EVENTS_PROCESSED = Counter("gateway_events_processed_total", "Events whose handler succeeded", ["kind"])
EVENTS_RETRIED = Counter(
    "gateway_events_retried_total", "Handler failures scheduled for another attempt", ["kind"]
)
EVENTS_DEAD = Counter("gateway_events_dead_lettered_total", "Events moved to the dead-letter state", ["kind"])
HANDLER_SECONDS = Histogram(
    "gateway_handler_duration_seconds",
    "Time one handler run took",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
REMOTE_CALL_SECONDS = Histogram(
    "gateway_remote_call_duration_seconds",
    "Time a call to Tencent IM or Salesforce took",
    ["service", "operation", "outcome"],
)
INBOX_EVENTS = Gauge("gateway_inbox_events", "Events in the inbox by state", ["state"])
OLDEST_PENDING_AGE = Gauge(
    "gateway_oldest_pending_event_age_seconds", "Age of the oldest event not yet handled (0 when none)"
)


@contextlib.contextmanager
def remote_call(service: str, operation: str) -> Iterator[None]:
    """Time one call to Tencent IM or Salesforce; the outcome label says how it ended."""
    started = time.perf_counter()
    outcome = "ok"
    try:
        yield
    except RetryableError:
        outcome = "retryable"
        raise
    except PermanentError:
        outcome = "permanent"
        raise
    except BaseException:
        outcome = "error"
        raise
    finally:
        REMOTE_CALL_SECONDS.labels(service=service, operation=operation, outcome=outcome).observe(
            time.perf_counter() - started
        )


def publish_inbox_stats(stats: InboxStats) -> None:
    """Refresh the queue gauges; called just before each scrape."""
    for state, count in stats.counts.items():
        INBOX_EVENTS.labels(state=state).set(count)
    OLDEST_PENDING_AGE.set(stats.oldest_pending_age)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and any ``extra`` fields."""

    # uvicorn adds ``color_message`` (the message with terminal colour codes): not for a log search.
    _standard = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
        "message",
        "asctime",
        "color_message",
    }

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        current_request = request_id.get()
        if current_request:
            entry["request_id"] = current_request
        for key, value in vars(record).items():
            if key not in self._standard and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class RedactSecrets(logging.Filter):
    """Replace any configured secret value that reaches a log line with ``[redacted]``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        redacted = self.scrub(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            if self.scrub(text) != text:
                record.exc_info, record.exc_text = None, None
                record.msg = f"{record.msg} [traceback withheld: it contained a secret]"
        for key, value in list(vars(record).items()):
            if isinstance(value, str) and key not in ("msg", "message"):
                setattr(record, key, self.scrub(value))
        return True

    def scrub(self, text: str) -> str:
        """``text`` with every secret replaced; also for messages that bypass logging."""
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text


def configure_logging(level: str = "INFO", secrets: Iterable[str] = (), stream: object = None) -> None:
    """Route every logger (ours, uvicorn's, httpx's) through one JSON handler on stderr."""
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]  # any text stream
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # httpx logs every request URL at INFO; Tencent's URLs carry the admin UserSig.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
