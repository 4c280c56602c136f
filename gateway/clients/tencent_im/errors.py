"""Tencent IM ErrorCodes translated into the gateway's two kinds of failure.

The worker only understands :class:`RetryableError` and :class:`PermanentError`; this module is
where Tencent's vocabulary stops. The subclasses keep ``api`` and ``code`` so a handler can
still tell, say, "group dismissed" (10010) from "bad parameter" (10004) when it must. Messages
name the API and the code, never the UserSig or the secret key.
"""

from __future__ import annotations

from gateway.errors import PermanentError, RetryableError

# Rate limits, busy, timeouts (docs/tencent-im.md, "Error codes"). 70050 means "too many bad sigs,
# wait a minute".
RETRYABLE_CODES: frozenset[int] = frozenset(
    {10002, 10006, 10023, 60007, 60008, 60011, 60018, 60019, 70169, 70050}
)
RETRY_AFTER: dict[int, float] = {70050: 60.0}

MEANINGS: dict[int, str] = {
    10002: "server internal error",
    10003: "bad command word",
    10004: "invalid parameter",
    10006: "operation frequency limit",
    10007: "no permission",
    10010: "group does not exist or has been dismissed",
    10013: "user is already a group member",
    10014: "group is full",
    10015: "invalid group ID or group not found",
    10016: "rejected by the app's Before-callback",
    10017: "sender is muted",
    10019: "account does not exist",
    10021: "group ID already used by someone else",
    10023: "message sending frequency over limit",
    10025: "group ID already used, and the caller owns it",
    10037: "per-user group count limit",
    10038: "member count limit",
    60002: "HTTP parse error",
    60003: "JSON parse error",
    60004: "account or signature error in the URL",
    60005: "account or signature error in the body",
    60006: "SDKAppID invalid",
    60007: "REST API call frequency over limit",
    60008: "service request timeout",
    60010: "request requires App admin permission",
    60011: "SDKAppID request frequency over limit",
    60018: "request too frequent",
    60019: "request too frequent",
    60020: "plan expired",
    60021: "caller IP not allowed",
    70001: "UserSig expired",
    70003: "UserSig could not be parsed",
    70009: "UserSig verification failed (wrong key or SDKAppID)",
    70013: "identifier differs from the UserSig's",
    70014: "SDKAppID differs from the UserSig's",
    70016: "key not found (wrong data-centre domain?)",
    70020: "SDKAppID not found (wrong data-centre domain?)",
    70050: "UserSig failures rate-limited; wait 60 s",
    70107: "account not imported",
    70169: "server internal timeout",
    70398: "account count limit",
    70402: "invalid parameter",
    70403: "request requires App admin permission",
    80001: "content filtered by moderation",
    80002: "message too long",
}


class TencentIMRetryableError(RetryableError):
    """A Tencent call that may succeed later; ``code`` is the ErrorCode (0 for HTTP/network)."""

    def __init__(self, message: str, *, api: str, code: int, retry_after: float | None = None) -> None:
        super().__init__(message, retry_after=retry_after)
        self.api = api
        self.code = code


class TencentIMPermanentError(PermanentError):
    """A Tencent call that cannot succeed by repeating it; ``code`` is the ErrorCode."""

    def __init__(self, message: str, *, api: str, code: int) -> None:
        super().__init__(message)
        self.api = api
        self.code = code


class MembersNotAddedError(TencentIMPermanentError):
    """add_group_member answered Result 0 (failed) for some members; ``failed`` lists them.

    Causes per the docs: account not imported (70107), group full (10014), the user's group
    limit (10037). Members that were added stay added, so repeating the call is harmless.
    """

    def __init__(self, message: str, *, api: str, failed: list[str]) -> None:
        super().__init__(message, api=api, code=0)
        self.failed = failed


def error_for(
    api: str, code: int, info: str, request_id: str | None = None
) -> TencentIMRetryableError | TencentIMPermanentError:
    """The gateway error for a failed Tencent call (``info`` must already be redacted)."""
    meaning = MEANINGS.get(code, "undocumented error")
    suffix = f" [RequestId {request_id}]" if request_id else ""
    message = f"Tencent IM {api} failed with ErrorCode {code} ({meaning}): {info}{suffix}"
    if code in RETRYABLE_CODES:
        return TencentIMRetryableError(message, api=api, code=code, retry_after=RETRY_AFTER.get(code))
    return TencentIMPermanentError(message, api=api, code=code)
