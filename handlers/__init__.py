"""Business rules, one module per flow; each takes a typed event and the ports it needs.

Handlers never parse XML or HTTP and never touch the store's SQL. Every handler is idempotent:
the inbox delivers at least once, so running one twice must change nothing the second time.

:func:`build_registry` maps event kinds to handlers. The flows (tickets, ownership, transcript,
closing, group events) register here as their issues land; until then the registry is empty
and an event of an unknown kind is dead-lettered with a clear reason, never silently dropped.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.events import Event

Handler = Callable[[Event], Awaitable[None]]


@dataclass(frozen=True)
class Ports:
    """The outside world as handlers see it: the clients they may call.

    Typed loosely until the flows that use them land; each flow narrows what it needs with a
    small protocol so tests can hand in emulator-backed clients.
    """

    tencent: Any = None
    salesforce: Any = None


def build_registry(ports: Ports) -> dict[str, Handler]:
    """Every business handler, by event kind."""
    return {}


def load_plugins(names: list[str]) -> dict[str, Handler]:
    """Extra registries named ``module:function`` (``GATEWAY_HANDLER_PLUGINS``).

    Each function takes no arguments and returns a mapping of kind to handler. Operators use this
    to add a site-specific flow; the test suite uses it to run recording handlers in real
    ``tim-gateway worker`` processes.
    """
    registry: dict[str, Handler] = {}
    for name in names:
        module_name, _, function_name = name.partition(":")
        if not module_name or not function_name:
            raise ValueError(f"handler plugin {name!r} must look like package.module:function")
        factory: Callable[[], Mapping[str, Handler]] = getattr(
            importlib.import_module(module_name), function_name
        )
        registry.update(factory())
    return registry
