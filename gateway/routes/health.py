"""``/healthz``, ``/readyz`` and ``/metrics``: what load balancers and Prometheus ask."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.observability import publish_inbox_stats
from gateway.store import Store


async def healthz(request: Request) -> Response:
    """The process is alive and serving HTTP; says nothing about dependencies."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready to take traffic: the store answers and its schema is current."""
    store: Store = request.app.state.store
    if await store.is_ready():
        return JSONResponse({"status": "ready"})
    return JSONResponse(
        {"status": "not ready", "reason": "store unreachable or not migrated"}, status_code=503
    )


async def metrics(request: Request) -> Response:
    store: Store = request.app.state.store
    try:
        publish_inbox_stats(await store.inbox.stats())
    except Exception:  # still expose process metrics when the store is down
        request.app.state.log.warning("could not read inbox statistics for /metrics")
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
