"""Error types of the Salesforce client, and the REST error → gateway error map.

Handlers import these to tell cases apart (e.g. ``error_code == "NOT_FOUND"``) without
learning httpx; the map is the one place that decides retryable versus permanent
(docs/salesforce.md#rest-errors).
"""

from __future__ import annotations

import logging
import re

import httpx

from gateway.errors import PermanentError, RetryableError

log = logging.getLogger("gateway.clients.salesforce")

RETRYABLE_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED", "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"})
# A Flow or trigger that fails inside our write answers with its own errorCode and names the
# cause only in the message ("... first error: UNABLE_TO_LOCK_ROW, unable to obtain exclusive
# access ..."), so a lock held by another automation would otherwise look permanent.
WRAPPER_CODES = frozenset({"CANNOT_EXECUTE_FLOW_TRIGGER", "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY"})
_TRANSIENT_CAUSE = re.compile(r"\bUNABLE_TO_LOCK_ROW\b")
# A rate-limited org should not be hammered; the worker waits at least this long (our choice:
# the daily limit rolls over slowly; docs/salesforce.md#api-limits-and-versions).
REQUEST_LIMIT_BACKOFF_S = 60.0


class SalesforceApiError(PermanentError):
    """A request Salesforce refused for good (validation, not found, no access…)."""

    def __init__(self, message: str, *, status: int, error_code: str, fields: list[str]) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.fields = fields


class SalesforceRetryableError(RetryableError):
    """A refusal that may heal by itself (limits, locks, outages)."""

    def __init__(self, message: str, *, status: int, error_code: str, retry_after: float | None) -> None:
        super().__init__(message, retry_after=retry_after)
        self.status = status
        self.error_code = error_code


class InvalidUserToken(PermanentError):
    """The access token an agent presented is not (or no longer) valid."""


def map_error(response: httpx.Response, operation: str, *, after_refresh: bool = False) -> Exception:
    """Map a REST error answer to a retryable or permanent gateway error."""
    status = response.status_code
    code, message, fields = f"HTTP_{status}", response.text, []
    try:
        first = response.json()[0]
        code = str(first.get("errorCode", code))
        message = str(first.get("message", ""))
        fields = [str(f) for f in first.get("fields") or []]
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        pass
    transient_cause = code in WRAPPER_CODES and _TRANSIENT_CAUSE.search(message) is not None
    message = message[:300]
    text = f"Salesforce {operation} failed: HTTP {status} {code}: {message}"
    if fields:
        text += f" (fields: {', '.join(fields)})"
    if transient_cause:
        text += " (caused by UNABLE_TO_LOCK_ROW)"
    if after_refresh:
        text += " — even with a freshly issued token"
    retry_after = _retry_after(response)
    if code == "REQUEST_LIMIT_EXCEEDED":
        retry_after = max(retry_after or 0.0, REQUEST_LIMIT_BACKOFF_S)
    if code in RETRYABLE_CODES or transient_cause or status >= 500 or status == 429:
        log.warning("%s (will retry)", text)
        return SalesforceRetryableError(text, status=status, error_code=code, retry_after=retry_after)
    log.warning("%s", text)
    return SalesforceApiError(text, status=status, error_code=code, fields=fields)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["retry-after"])
    except (KeyError, ValueError):
        return None
