"""The HTTP shell: health, readiness, metrics, request ids, body limits, no stack traces."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Sequence

import httpx
import pytest
import uvicorn
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from gateway.app import create_app
from gateway.events import Event
from gateway.handling import HandlerRegistry, Ports
from gateway.observability import configure_logging
from gateway.services import Services
from gateway.settings import Settings
from tests.support.environment import free_port, gateway_settings

pytestmark = pytest.mark.anyio


async def echo_length(request: Request) -> Response:
    return JSONResponse({"bytes": len(await request.body())})


async def explode(request: Request) -> Response:
    raise RuntimeError("internal detail that must not leak")


async def explode_mid_stream(request: Request) -> Response:
    async def body() -> AsyncIterator[bytes]:
        yield b"the first part"
        raise RuntimeError("internal detail that must not leak")

    return StreamingResponse(body())


async def enqueue(request: Request) -> Response:
    services: Services = request.app.state.services
    result = await services.store.inbox.enqueue("test", request.query_params["key"], "test.kind", "case", {})
    return JSONResponse({"id": result.id, "created": result.created})


def _client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://gateway"
    )


@contextlib.asynccontextmanager
async def _served(app: Starlette) -> AsyncIterator[str]:
    """``app`` behind a real uvicorn server on a loopback port, to see what the server itself logs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # connections wait in the backlog until the server is up
    config = uvicorn.Config(app, lifespan="off", ws="none", log_config=None, access_log=False)
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        await serving
        listener.close()


def _gateway(
    settings: Settings, registry: HandlerRegistry | None = None, *, extra_routes: Sequence[BaseRoute] = ()
) -> Starlette:
    """The gateway app over its own services, running the handlers given (none by default)."""

    def handlers(ports: Ports) -> HandlerRegistry:
        return registry or {}

    services = Services(settings, handlers, run_worker=registry is not None)
    return create_app(settings, services, extra_routes=extra_routes)


def _buggy_app() -> Starlette:
    """The gateway's HTTP shell with two buggy routes and no store (uvicorn runs no lifespan)."""
    routes = [Route("/explode", explode), Route("/explode-mid-stream", explode_mid_stream)]
    return _gateway(gateway_settings(), extra_routes=routes)


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    handled: list[int] = []

    async def handler(event: Event) -> None:
        handled.append(event.id)

    settings = gateway_settings(
        DATABASE_URL=database_url, GATEWAY_MAX_BODY_BYTES="2048", GATEWAY_POLL_SECONDS="0.05"
    )
    routes = [
        Route("/echo", echo_length, methods=["POST"]),
        Route("/explode", explode),
        Route("/enqueue", enqueue, methods=["POST"]),
    ]
    app = _gateway(settings, {"test.kind": handler}, extra_routes=routes)
    async with app.router.lifespan_context(app), _client(app) as http:
        yield http


async def test_healthz_says_the_process_is_alive(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readyz_says_ready_once_the_store_is_migrated(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200 and response.json() == {"status": "ready"}


async def test_readyz_is_503_when_the_schema_is_not_migrated(tmp_path: object) -> None:
    app = _gateway(
        gateway_settings(DATABASE_URL=f"sqlite:///{tmp_path}/empty.db", GATEWAY_MIGRATE_ON_START="false")
    )
    async with app.router.lifespan_context(app), _client(app) as http:
        response = await http.get("/readyz")
    assert response.status_code == 503 and response.json()["status"] == "not ready"


@pytest.fixture
async def store_down() -> AsyncIterator[httpx.AsyncClient]:
    """The gateway started against a PostgreSQL address where nothing listens (a closed loopback port)."""
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/gateway"
    app = _gateway(gateway_settings(DATABASE_URL=url, GATEWAY_MIGRATE_ON_START="false"))
    async with app.router.lifespan_context(app), _client(app) as http:
        yield http


def _store_threads() -> set[threading.Thread]:
    """The threads the store's executor has started so far (it names them so, and starts one per query
    running at once, up to its size)."""
    return {thread for thread in threading.enumerate() if thread.name.startswith("store-postgresql")}


async def test_readyz_answers_503_at_once_when_the_store_cannot_be_reached(
    store_down: httpx.AsyncClient,
) -> None:
    started = time.monotonic()
    response = await store_down.get("/readyz")
    assert response.status_code == 503 and response.json()["status"] == "not ready"
    # The probe's deadline is 0.8 s; the bound leaves a loaded machine room and still fails on
    # the 15 s the pool would wait for a connection.
    assert time.monotonic() - started < 5.0


async def test_metrics_expose_process_metrics_at_once_when_the_store_cannot_be_reached(
    store_down: httpx.AsyncClient,
) -> None:
    started = time.monotonic()
    response = await store_down.get("/metrics")
    assert response.status_code == 200
    assert "python_info" in response.text and "gateway_events_received_total" in response.text
    # The probe's deadline is 0.8 s; the bound leaves a loaded machine room and still fails on
    # the 15 s the pool would wait for a connection.
    assert time.monotonic() - started < 5.0


async def test_probes_of_an_unreachable_store_cannot_pile_up_on_its_threads(
    store_down: httpx.AsyncClient,
) -> None:
    # Each stuck query holds a store thread until the pool gives up on connecting (15 s), and
    # webhook enqueues need those threads: however often the probes come, one query of each.
    before = _store_threads()
    for _ in range(3):
        responses = await asyncio.gather(*(store_down.get(path) for path in ["/readyz", "/metrics"] * 10))
        assert sorted({response.status_code for response in responses}) == [200, 503]
    assert len(_store_threads() - before) <= 2


async def test_metrics_expose_queue_depth_oldest_age_and_per_kind_counters(client: httpx.AsyncClient) -> None:
    labels = {"kind": "test.kind", "source": "test"}
    received_before = REGISTRY.get_sample_value("gateway_events_received_total", labels) or 0.0
    duplicates_before = REGISTRY.get_sample_value("gateway_events_duplicate_total", labels) or 0.0
    await client.post("/enqueue?key=m1")
    await client.post("/enqueue?key=m1")  # a redelivery
    for _ in range(50):  # the embedded worker handles it
        body = (await client.get("/metrics")).text
        if 'gateway_inbox_events{state="done"} 1.0' in body:
            break
        await asyncio.sleep(0.05)
    assert 'gateway_inbox_events{state="done"} 1.0' in body
    assert 'gateway_inbox_events{state="pending"} 0.0' in body
    assert "gateway_oldest_pending_event_age_seconds 0.0" in body
    assert 'gateway_events_processed_total{kind="test.kind"}' in body
    assert "gateway_handler_duration_seconds_bucket" in body
    assert REGISTRY.get_sample_value("gateway_events_received_total", labels) == received_before + 1
    assert REGISTRY.get_sample_value("gateway_events_duplicate_total", labels) == duplicates_before + 1


async def test_every_response_carries_a_request_id_and_keeps_a_callers_plain_one(
    client: httpx.AsyncClient,
) -> None:
    generated = await client.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 32
    kept = await client.get("/healthz", headers={"X-Request-ID": "trace-123"})
    assert kept.headers["x-request-id"] == "trace-123"
    replaced = await client.get("/healthz", headers={"X-Request-ID": "bad id\nwith newline"})
    assert replaced.headers["x-request-id"] != "bad id\nwith newline"


async def test_a_body_within_the_limit_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post("/echo", content=b"x" * 2048)
    assert response.status_code == 200 and response.json() == {"bytes": 2048}


async def test_a_declared_oversized_body_gets_a_clear_413(client: httpx.AsyncClient) -> None:
    response = await client.post("/echo", content=b"x" * 2049)
    assert response.status_code == 413
    assert response.json() == {"error": "payload_too_large", "detail": "request body exceeds 2048 bytes"}


async def test_a_streamed_oversized_body_is_cut_off_with_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"y" * 1000

    response = await client.post("/echo", content=chunks())
    assert response.status_code == 413


async def test_a_bug_answers_500_without_a_stack_trace(client: httpx.AsyncClient) -> None:
    response = await client.get("/explode")
    assert response.status_code == 500
    assert response.json() == {"error": "internal_error", "detail": "the gateway failed; see its logs"}
    assert "internal detail" not in response.text and "Traceback" not in response.text


async def test_a_bugs_500_carries_the_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/explode", headers={"X-Request-ID": "req-500"})
    assert response.status_code == 500 and response.headers["x-request-id"] == "req-500"


async def test_a_bug_is_logged_once_with_its_request_id_and_not_passed_on_to_the_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with _served(_buggy_app()) as url, httpx.AsyncClient(base_url=url) as http:
        response = await http.get("/explode", headers={"X-Request-ID": "req-once"})
    assert response.status_code == 500
    [error] = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert error.getMessage() == "unhandled error" and error.request_id == "req-once"  # type: ignore[attr-defined]
    assert error.exc_info is not None and isinstance(error.exc_info[1], RuntimeError)


async def test_a_bug_after_the_response_started_cuts_the_response_off_and_is_logged_with_its_traceback_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with _served(_buggy_app()) as url, httpx.AsyncClient(base_url=url) as http:
        with pytest.raises(httpx.RemoteProtocolError):  # an unfinished body, never a truncated "complete" one
            await http.get("/explode-mid-stream", headers={"X-Request-ID": "req-late"})
    [error] = [record for record in caplog.records if record.exc_info is not None]
    assert error.getMessage() == "unhandled error" and error.request_id == "req-late"  # type: ignore[attr-defined]
    assert error.response_started is True  # type: ignore[attr-defined]


async def test_log_lines_are_json_and_carry_the_request_id(client: httpx.AsyncClient) -> None:
    stream = io.StringIO()
    configure_logging("INFO", [], stream=stream)
    try:
        await client.get("/explode", headers={"X-Request-ID": "req-42"})
    finally:
        logging.getLogger().handlers.clear()
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    [error] = [entry for entry in entries if entry["message"] == "unhandled error"]
    assert error["request_id"] == "req-42" and error["level"] == "error"
    assert "RuntimeError: internal detail" in error["exception"]  # the traceback stays in our logs
