"""``/healthz``, ``/readyz`` and ``/metrics``: what load balancers and Prometheus ask."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.observability import publish_inbox_stats
from gateway.single_flight import SingleFlight
from gateway.store import Store

# Under Kubernetes' default probe timeout (1 s), so the kubelet reads our 503 and its reason
# rather than timing out; far under Prometheus' default scrape timeout (10 s).
PROBE_DEADLINE_SECONDS = 0.8


class StoreProbes:
    """The store queries behind ``/readyz`` and ``/metrics``: at most one of each in flight.

    When PostgreSQL cannot be reached, a query waits on one of the store's threads for the
    pool's connection timeout (15 s), and cancelling the ``await`` would not free that thread.
    So each probe waits for its query only until :data:`PROBE_DEADLINE_SECONDS` after the query
    began, and a probe that comes while a query is in flight shares it rather than starting
    another (:class:`~gateway.single_flight.SingleFlight`): probes hold at most two store
    threads however often they come, and webhook enqueues keep the rest.

    Chosen over a short connection timeout for probes alone: that would need a second path
    through the store, and would bound neither the answer time nor the threads held when the
    store is reachable but slow (a pool busy with webhooks, a lock, a count over a large inbox).
    """

    def __init__(self, store: Store) -> None:
        self.readiness = SingleFlight(store.is_ready, PROBE_DEADLINE_SECONDS)

        async def refresh_inbox_gauges() -> None:
            # Publishes even when the scrape that asked has given up, for the next scrape.
            publish_inbox_stats(await store.inbox.stats())

        self.inbox_gauges = SingleFlight(refresh_inbox_gauges, PROBE_DEADLINE_SECONDS)

    def cancel(self) -> None:
        self.readiness.cancel()
        self.inbox_gauges.cancel()


async def healthz(request: Request) -> Response:
    """The process is alive and serving HTTP; says nothing about dependencies."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready to take traffic: the store answers, in time, and its schema is current."""
    probes: StoreProbes = request.app.state.probes
    try:
        if await probes.readiness():
            return JSONResponse({"status": "ready"})
        reason = "store unreachable or not migrated"
    except TimeoutError:
        reason = f"store did not answer within {PROBE_DEADLINE_SECONDS} s"
    return JSONResponse({"status": "not ready", "reason": reason}, status_code=503)


async def metrics(request: Request) -> Response:
    """Prometheus text: process metrics always, at once; the store's gauges as fresh as it allows.

    When the store does not answer in time, ``gateway_inbox_events`` and
    ``gateway_oldest_pending_event_age_seconds`` keep the last values read: stale, not absent
    (before the first read, the first is absent and the second reads 0). ``/readyz`` and the
    warning logged here say why.
    """
    probes: StoreProbes = request.app.state.probes
    try:
        await probes.inbox_gauges()
    except Exception:  # TimeoutError included: still expose process metrics when the store is down
        request.app.state.log.warning("could not read inbox statistics for /metrics: inbox gauges stale")
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
