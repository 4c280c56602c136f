"""One composition root: the services a gateway process runs on open and close as one."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from gateway.errors import ConfigurationError
from gateway.events import Event
from gateway.handling import Handler, HandlerRegistry, Ports
from gateway.runtime import gateway_handlers
from gateway.services import Services
from tests.support.environment import gateway_settings
from tests.support.gateway import gateway_on_emulators

pytestmark = pytest.mark.anyio


async def test_handlers_are_built_around_the_gateway_s_own_clients(database_url: str) -> None:
    seen: list[Ports] = []

    def handlers(ports: Ports) -> HandlerRegistry:
        seen.append(ports)
        return {}

    async with Services(gateway_settings(DATABASE_URL=database_url), handlers, run_worker=False) as services:
        assert seen == [Ports(tencent=services.tencent, salesforce=services.salesforce)]


async def test_a_handler_reaches_both_services_through_its_ports(database_url: str) -> None:
    handled = asyncio.Event()

    def handlers(ports: Ports) -> HandlerRegistry:
        async def open_ticket(event: Event) -> None:
            await ports.tencent.account_import(event.payload["user"], nick="Ana")
            await ports.salesforce.create_case({"Subject": event.payload["subject"]})
            handled.set()

        return {"test.ticket": open_ticket}

    async with gateway_on_emulators(database_url, handlers) as gateway:
        await gateway.services.store.inbox.enqueue(
            "test", "t-1", "test.ticket", "case-1", {"user": "ana", "subject": "Printer on fire"}
        )
        await asyncio.wait_for(handled.wait(), 10)
        assert gateway.tencent.state.accounts["ana"].nick == "Ana"
        assert [case["Subject"] for case in gateway.salesforce.records.cases.values()] == ["Printer on fire"]


async def test_the_embedded_worker_stops_when_the_services_close(database_url: str) -> None:
    async with Services(
        gateway_settings(DATABASE_URL=database_url), lambda ports: {}, run_worker=True
    ) as services:
        assert services.worker is not None
    await asyncio.wait_for(services.worker_stopped(), 1)  # already over: nothing left running


async def test_without_a_worker_nothing_is_claimed(database_url: str) -> None:
    ran: list[int] = []

    async def record(event: Event) -> None:
        ran.append(event.id)

    registry: dict[str, Handler] = {"test.kind": record}
    settings = gateway_settings(DATABASE_URL=database_url)
    async with Services(settings, lambda ports: registry, run_worker=False) as services:
        await services.store.inbox.enqueue("test", "k", "test.kind", "case", {})
        await asyncio.sleep(0.3)
        assert services.worker is None and ran == []
        assert (await services.store.inbox.stats()).counts["pending"] == 1


async def test_a_plugin_that_fails_to_build_stops_start_up_before_the_store_is_touched(
    tmp_path: Path,
) -> None:
    settings = gateway_settings(
        DATABASE_URL=f"sqlite:///{tmp_path / 'gateway.db'}",
        GATEWAY_HANDLER_PLUGINS="tests.support.plugins:broken_registry",
    )
    services = Services(settings, gateway_handlers(settings), run_worker=True)
    with pytest.raises(
        ConfigurationError, match=r"'tests\.support\.plugins:broken_registry' cannot be loaded"
    ):
        async with services:
            pass
    assert not (tmp_path / "gateway.db").exists()


async def test_a_long_running_process_checkpoints_sqlite_in_the_background(tmp_path: Path) -> None:
    settings = gateway_settings(DATABASE_URL=f"sqlite:///{tmp_path / 'gateway.db'}")
    async with Services(settings, lambda ports: {}, run_worker=False):
        assert any(thread.name == "sqlite-checkpointer" for thread in threading.enumerate())
    assert not any(thread.name == "sqlite-checkpointer" for thread in threading.enumerate())


async def test_services_open_only_once_at_a_time(database_url: str) -> None:
    services = Services(gateway_settings(DATABASE_URL=database_url), lambda ports: {}, run_worker=False)
    async with services:
        with pytest.raises(RuntimeError, match="already open"):
            await services.__aenter__()
