"""The two kinds of failure a handler or client can report, and nothing else.

The worker's whole retry policy hangs on this split: a *retryable* error (rate limit, timeout,
5xx, lock contention) is tried again later with backoff; a *permanent* one (validation error,
no such group, bad configuration) goes straight to the dead-letter state, because trying again
would only fail again. Clients translate each remote error code into one of these two, so
handlers and the worker never learn Tencent's or Salesforce's vocabularies.
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base class: an error whose message is safe to store and show to an operator."""


class RetryableError(GatewayError):
    """Try again later: the outside world may heal by itself.

    ``retry_after`` (seconds) is a hint from the remote side, when it gave one; the worker
    never waits less than that.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(GatewayError):
    """Trying again cannot help: dead-letter at once and tell an operator.

    ``block_conversation`` asks the worker to hold back later events of the same
    conversation until an operator retries or drops this one; use it when running later
    events without this one would corrupt the conversation's state.
    """

    def __init__(self, message: str, *, block_conversation: bool = False) -> None:
        super().__init__(message)
        self.block_conversation = block_conversation


class ConfigurationError(GatewayError):
    """A setting is missing or malformed; raised at start-up, never mid-flight."""
