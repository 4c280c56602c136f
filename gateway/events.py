"""The typed records that cross from transport to the inbox, and from the inbox to handlers.

Transport code builds a :class:`NewEvent` from an authenticated request; the worker hands a
handler an :class:`Event`. Neither knows about HTTP, XML or SQL, which keeps handlers testable
with nothing but a dataclass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

EventState = Literal["pending", "running", "done", "dead"]
EVENT_STATES: tuple[EventState, ...] = ("pending", "running", "done", "dead")


class NewEvent(NamedTuple):
    """An inbound event as transport saw it, before it is stored.

    ``source`` names the sender (``salesforce``, ``tencent``, ``tickets``…); ``dedupe_key`` is
    the sender's own identity for the event (an Outbound Message notification Id, a group +
    MsgSeq…), so a redelivery is recognised; events sharing a ``conversation_key`` (one Case)
    are handled one at a time in arrival order.

    A named tuple, like :class:`EnqueueResult`: one is built for every inbound event, and a
    frozen dataclass costs two to three times as much to build (``bench/NOTES.md``).
    """

    source: str
    dedupe_key: str
    kind: str
    conversation_key: str
    payload: Mapping[str, Any] = MappingProxyType({})  # immutable, so one shared default is safe


class EnqueueResult(NamedTuple):
    """Where the event lives, and whether this call stored it (False: a duplicate).

    A named tuple rather than a frozen dataclass: one is built per inbound event on the
    hottest path, and a tuple is several times cheaper to build.
    """

    id: int
    created: bool


@dataclass(frozen=True)
class Event:
    """A stored event, claimed by a worker and given to the handler for its ``kind``."""

    id: int
    source: str
    dedupe_key: str
    kind: str
    conversation_key: str
    payload: dict[str, Any]
    attempts: int
    received_at: float


@dataclass(frozen=True)
class EventSummary:
    """One row of ``tim-gateway events list``."""

    id: int
    source: str
    kind: str
    conversation_key: str
    state: EventState
    attempts: int
    received_at: float
    run_after: float
    finished_at: float | None
    last_error: str | None
    blocks_conversation: bool


@dataclass(frozen=True)
class Attempt:
    attempt: int
    worker: str
    started_at: float
    finished_at: float
    outcome: str
    error: str | None


@dataclass(frozen=True)
class EventDetail:
    """Everything about one event, for ``tim-gateway events show``."""

    summary: EventSummary
    dedupe_key: str
    payload: dict[str, Any]
    lease_owner: str | None
    attempts: list[Attempt]


@dataclass(frozen=True)
class InboxStats:
    """Queue depth by state and the age of the oldest unfinished event (for /metrics)."""

    counts: Mapping[EventState, int]
    oldest_pending_age: float
