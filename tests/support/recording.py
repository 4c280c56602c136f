"""Handlers for tests that run real worker processes (loaded with ``GATEWAY_HANDLER_PLUGINS``).

``test.record`` appends ``event-id pid start end`` to the file named by ``GATEWAY_TEST_RECORD``
(one ``write`` of one short line on an ``O_APPEND`` file, so lines from several processes
never interleave), after sleeping ``payload["sleep"]`` seconds.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping

from gateway.events import Event
from gateway.handling import Handler, Ports


async def record(event: Event) -> None:
    started = time.time()
    await asyncio.sleep(float(event.payload.get("sleep", 0.0)))
    line = f"{event.id} {os.getpid()} {started:.6f} {time.time():.6f}\n"
    descriptor = os.open(os.environ["GATEWAY_TEST_RECORD"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, line.encode())
    finally:
        os.close(descriptor)


def registry(ports: Ports) -> Mapping[str, Handler]:
    return {"test.record": record}


def read_records(path: str) -> list[tuple[int, int, float, float]]:
    """``(event_id, pid, started, finished)`` per handler run, in the order they were written."""
    if not os.path.exists(path):
        return []
    rows = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            event_id, pid, started, finished = line.split()
            rows.append((int(event_id), int(pid), float(started), float(finished)))
    return rows
