"""``tim-gateway demo``: a whole support conversation, played on the two emulators.

It starts the Tencent IM emulator, the Salesforce emulator and the gateway on free loopback
ports (the gateway on SQLite in a temporary folder unless told otherwise), all three as real
uvicorn servers talking real HTTP, then plays the conversation step by step and prints what
happened and how long it took. A step whose gateway part is not built yet is reported as
*skipped*, with the route it waits for; nothing is faked. It ends with what Salesforce and
Tencent IM now hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route

from emulators.salesforce import SalesforceEmulatorConfig
from emulators.salesforce import create_app as salesforce_app
from emulators.salesforce.ids import random_org_id
from emulators.tencent_im import TencentEmulatorConfig
from emulators.tencent_im import create_app as tencent_app
from gateway import settings as gateway_settings
from gateway.app import create_app
from gateway.runtime import gateway_services
from gateway.services import Services

Print = Callable[[str], None]


class _QuietServer(uvicorn.Server):
    """Three servers share one process: none of them may take over the process's signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


@dataclass
class Running:
    name: str
    url: str
    app: Starlette


@dataclass
class Step:
    """One moment of the conversation; ``needs`` names the gateway route it cannot do without."""

    title: str
    needs: tuple[str, str]
    play: Callable[[], Awaitable[str]] | None = None


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


@contextlib.asynccontextmanager
async def _serve(name: str, app: Starlette, sock: socket.socket) -> AsyncIterator[Running]:
    port = sock.getsockname()[1]
    server = _QuietServer(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]), name=f"demo {name}")
    while not server.started:
        if task.done():
            task.result()  # raises what stopped it
        await asyncio.sleep(0.02)
    try:
        yield Running(name, f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        await task


def demo_environment(tencent_url: str, salesforce_url: str, database_url: str) -> dict[str, str]:
    """One fresh set of credentials that the gateway and both emulators read alike."""
    return {
        "DATABASE_URL": database_url,
        "TIM_SDKAPPID": str(1400000000 + secrets.randbelow(99_999_999)),
        "TIM_SECRET_KEY": secrets.token_hex(32),
        "TIM_ADMIN_IDENTIFIER": "administrator",
        "TIM_API_BASE_URL": tencent_url,
        "TIM_CALLBACK_TOKEN": secrets.token_urlsafe(24),
        "SF_INSTANCE_URL": salesforce_url,
        "SF_CLIENT_ID": "3MVG9demo" + secrets.token_hex(8),
        "SF_CLIENT_SECRET": secrets.token_hex(32),
        "SF_ORG_ID": random_org_id(),
        "SF_OUTBOUND_SECRET": secrets.token_urlsafe(24),
        "GATEWAY_POLL_SECONDS": "0.1",
    }


def run(*, keep_running: bool = False, database_url: str | None = None, out: Print = print) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="tim-gateway-demo-"))
    try:
        return asyncio.run(_run(workdir, keep_running=keep_running, database_url=database_url, out=out))
    except KeyboardInterrupt:
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def _run(workdir: Path, *, keep_running: bool, database_url: str | None, out: Print) -> int:
    started = time.perf_counter()
    database_url = database_url or f"sqlite:///{workdir / 'gateway.db'}"
    sockets = {name: _listening_socket() for name in ("tencent", "salesforce", "gateway")}
    urls = {name: f"http://127.0.0.1:{sock.getsockname()[1]}" for name, sock in sockets.items()}
    environ = demo_environment(urls["tencent"], urls["salesforce"], database_url)
    loaded = gateway_settings.load(gateway_settings.Settings, environ)

    out("tim-gateway demo: a support conversation on emulated Tencent IM and Salesforce")
    tencent = tencent_app(TencentEmulatorConfig.from_env(environ, f"{urls['gateway']}/tencent/callback"))
    salesforce = salesforce_app(SalesforceEmulatorConfig.from_env(environ, urls["gateway"]))
    services = gateway_services(loaded, run_worker=loaded.gateway_embedded_worker)
    gateway = create_app(loaded, services)
    async with contextlib.AsyncExitStack() as stack:
        for name, app in (("tencent", tencent), ("salesforce", salesforce), ("gateway", gateway)):
            began = time.perf_counter()
            running = await stack.enter_async_context(_serve(name, app, sockets[name]))
            _line(out, "ok", f"started {name:<10} {running.url}", began)
        failures = await _play(out, services, gateway, urls)
        await _report(out, urls)
        out(f"done in {time.perf_counter() - started:.2f} s; {failures} step(s) failed")
        if keep_running:
            out("everything is still running (Ctrl-C to stop):")
            for name, url in urls.items():
                out(f"  {name:<10} {url}")
            out(f"  database   {database_url}")
            await _until_interrupted()
    return 1 if failures else 0


async def _play(out: Print, services: Services, gateway: Starlette, urls: dict[str, str]) -> int:
    failures = 0
    async with httpx.AsyncClient(base_url=urls["gateway"], timeout=10) as http:
        began = time.perf_counter()
        ready = await http.get("/readyz")
        failures += _check(out, ready.status_code == 200, f"gateway ready ({ready.json()['status']})", began)

    # The gateway's own clients, as its handlers will use them.
    began = time.perf_counter()
    user = await services.salesforce.identity()
    failures += _check(
        out,
        bool(user.user_id),
        f"gateway -> Salesforce: OAuth client credentials, acting as {user.name or user.user_id}",
        began,
    )
    began = time.perf_counter()
    admin = services.settings.tim_admin_identifier
    accounts = await services.tencent.account_check([admin])
    failures += _check(
        out, accounts.get(admin, False), "gateway -> Tencent IM: admin UserSig accepted", began
    )

    routes = {
        (method, route.path)
        for route in gateway.routes
        if isinstance(route, Route)
        for method in (route.methods or ())
    }
    for step in _conversation():
        if step.needs not in routes or step.play is None:
            out(f"  skip  {step.title}: needs {step.needs[0]} {step.needs[1]}, not built yet")
            continue
        began = time.perf_counter()
        _line(out, "ok", await step.play(), began)
    return failures


def _conversation() -> list[Step]:
    """The story the demo tells. Each later capability fills in its step's ``play``."""
    return [
        Step("an end user opens a ticket (Case + IM group + welcome)", ("POST", "/v1/tickets")),
        Step("Salesforce assigns an agent (Outbound Message)", ("POST", "/salesforce/outbound/{trigger}")),
        Step("customer and agent chat (Tencent callbacks -> Case Comments)", ("POST", "/tencent/callback")),
        Step("the Case is reassigned to another agent", ("POST", "/salesforce/outbound/{trigger}")),
        Step("the customer sends an image", ("POST", "/tencent/callback")),
        Step(
            "the Case closes (transcript archived, group dismissed)",
            ("POST", "/salesforce/outbound/{trigger}"),
        ),
    ]


async def _report(out: Print, urls: dict[str, str]) -> None:
    """Ask each emulator's test API what it now holds, as an operator would."""
    async with httpx.AsyncClient(timeout=10) as http:
        cases = (await http.get(f"{urls['salesforce']}/_emulator/cases")).json()
        groups = (await http.get(f"{urls['tencent']}/_emulator/groups")).json()["groups"]
    out("what the services now hold:")
    out(f"  Salesforce: {len(cases)} case(s)")
    for case in cases:
        detail = (await _get_json(f"{urls['salesforce']}/_emulator/cases/{case['Id']}")) or {}
        out(
            f"    {case['Id']} #{case.get('CaseNumber')} {case.get('Status')}: "
            f"{len(detail.get('comments', []))} comment(s), {len(detail.get('files', []))} file(s)"
        )
    out(f"  Tencent IM: {len(groups)} group(s)")
    for group in groups:
        fate = "dismissed" if group["Dismissed"] else f"{group['MemberNum']} member(s)"
        out(
            f"    {group['GroupId']} {group['Type']} {group['Name']!r}: {fate}, "
            f"{group['NextMsgSeq'] - 1} message(s)"
        )


async def _get_json(url: str) -> Any:
    async with httpx.AsyncClient(timeout=10) as http:
        return (await http.get(url)).json()


async def _until_interrupted() -> None:
    """Wait for Ctrl-C or SIGTERM, then let the servers shut down in order (no tracebacks)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()


def _line(out: Print, status: str, text: str, began: float) -> None:
    out(f"  {status:<4}  {text}  ({time.perf_counter() - began:.3f} s)")


def _check(out: Print, ok: bool, text: str, began: float) -> int:
    _line(out, "ok" if ok else "FAIL", text, began)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(run())
