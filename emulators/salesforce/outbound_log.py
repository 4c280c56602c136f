"""What the outbound sender remembers: queued notifications and every delivery attempt.

The log is how tests and operators of the demo see Salesforce-like behaviour (retries,
duplicates, drops) without reading the listener's side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass
class Pending:
    notification_id: str
    trigger: str
    record_id: str
    enqueued_at: float
    next_attempt_at: float
    attempts: int = 0
    in_flight: bool = False


@dataclass
class Delivery:
    """One POST as the delivery log shows it (the URL secret is masked)."""

    trigger: str
    url: str
    notification_ids: list[str]
    status: int | None
    acked: bool
    error: str | None
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def as_json(self) -> dict[str, object]:
        return dict(self.__dict__)
