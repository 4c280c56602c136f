"""Handler plugins (``GATEWAY_HANDLER_PLUGINS``) that misbehave, for start-up tests."""

from __future__ import annotations

from gateway.handling import HandlerRegistry, Ports


def broken_registry(ports: Ports) -> HandlerRegistry:
    raise RuntimeError("this plugin cannot build its handlers")
