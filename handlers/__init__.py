"""Business rules, one module per flow; each takes a typed event and the ports it needs.

Handlers never parse XML or HTTP and never touch the store's SQL. Every handler is idempotent:
the inbox delivers at least once, so running one twice must change nothing the second time.

:func:`build_registry` maps event kinds to handlers. The flows (tickets, ownership, transcript,
closing, group events) register here as their issues land; until then the registry is empty
and an event of an unknown kind is dead-lettered with a clear reason, never silently dropped.
The contract (``Handler``, ``Ports``) lives in :mod:`gateway.handling`.
"""

from __future__ import annotations

from gateway.handling import Handler, Ports


def build_registry(ports: Ports) -> dict[str, Handler]:
    """Every business handler, by event kind."""
    return {}
