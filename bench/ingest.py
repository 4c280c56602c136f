"""Ingest benchmark: how fast the gateway stores inbound events, against a bare endpoint.

Run by hand (never in CI): ``.venv/bin/python bench/ingest.py`` (needs ``wrk``: ``apt-get install wrk``;
set ``TEST_POSTGRES_URL`` to include PostgreSQL). Each case is a real uvicorn server (uvloop +
httptools, one process, no access log), all started at once; then, round after round, each
server in turn gets a short burst of ``wrk -t2 -c64 -d3s`` on loopback while the others idle.
Why bursts, not one long run per case: on a shared VM the machine itself drifts (the bare
endpoint's req/s moved by up to 45 % between runs minutes apart), so a ratio is only worth something
between measurements seconds apart; each round's ratio is taken against that round's own bare
burst, and the median over many rounds (with its range) is reported. With two CPUs or more,
the servers are pinned to one CPU and wrk to another (``--no-pin`` turns that off): otherwise
the load generator competes with the server for the same cores, and what is measured is mostly
the scheduler. PostgreSQL itself is not pinned.
Cases, measured in the same run so the ratios mean something on a shared machine:

- ``bare``: a plain Starlette app that reads the 1 KB body and answers a fixed JSON body;
- ``shell``: the gateway app (its middleware included) with the enqueue route minus the
  store: what the HTTP side of the gateway costs before anything is written;
- ``enqueue``: the gateway app whose route reads the body and enqueues it in the inbox with a
  unique dedupe key, answering only once the commit is done. The embedded worker is off, so
  this measures ingest alone.

Besides requests/s, each case reports the server's CPU time per request (all its threads, from
``/proc``): on a noisy shared machine it moves far less than requests/s, and it says where the
time goes (``enqueue`` minus ``shell`` is what storing costs).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette

ROOT = Path(__file__).resolve().parents[1]

# Every request carries a dedupe key no other request of the whole benchmark uses: PREFIX is
# fresh per wrk run, and each wrk thread numbers its own requests. (wrk's setup() runs in the
# main Lua state; thread:set() makes a global in the thread's state, so no local may shadow it.)
# done() reports how many requests were sent, answered or not: bench/instructions.py counts the
# ones still in flight when wrk stops as the server's work too.
LUA = """
local threads = {}
function setup(thread)
  thread:set("thread_number", #threads)
  table.insert(threads, thread)
end
sent = 0
local body = string.rep("x", 1000)
function request()
  sent = sent + 1
  return wrk.format("POST", wrk.path, {["Content-Type"] = "application/octet-stream",
                    ["X-Dedupe-Key"] = "PREFIX-" .. thread_number .. "-" .. sent}, body)
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("sent") end
  io.write(string.format("SENT %d\\n", total))
end
"""


FAKE_CREDENTIALS = {
    "TIM_SDKAPPID": "1400000001",
    "TIM_SECRET_KEY": "bench-secret",
    "TIM_ADMIN_IDENTIFIER": "administrator",
    "TIM_CALLBACK_TOKEN": "bench-token",
    "SF_INSTANCE_URL": "https://bench.my.salesforce.com",
    "SF_CLIENT_ID": "bench-client",
    "SF_CLIENT_SECRET": "bench-secret",
    "SF_ORG_ID": "00D000000000001EAA",
}


def build_app(mode: str, database_url: str) -> Starlette:
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    if mode == "bare":

        async def bare(request: Request) -> Response:
            await request.body()
            return JSONResponse({"ack": True})

        return Starlette(routes=[Route("/ingest", bare, methods=["POST"])])

    from gateway import settings
    from gateway.app import create_app
    from gateway.events import EnqueueResult
    from gateway.handling import HandlerRegistry, Ports
    from gateway.services import Services

    async def not_stored(*event: object) -> EnqueueResult:
        return EnqueueResult(id=0, created=True)

    async def enqueue(request: Request) -> Response:
        body = await request.body()
        key = request.headers["x-dedupe-key"]
        store = not_stored if mode == "shell" else request.app.state.services.store.inbox.enqueue
        result = await store(
            "bench", key, "bench.event", f"conversation-{hash(key) % 500}", {"body": body.decode()}
        )
        # A duplicate would mean the benchmark reused a key: answer 409 so it shows as non-2xx.
        return JSONResponse({"ack": True, "id": result.id}, status_code=200 if result.created else 409)

    def no_handlers(ports: Ports) -> HandlerRegistry:
        return {}

    # The clients are built but never called: their credentials only have to be well formed.
    configured = settings.load(settings.Settings, {**FAKE_CREDENTIALS, "DATABASE_URL": database_url})
    services = Services(configured, no_handlers, run_worker=False)
    return create_app(configured, services, extra_routes=[Route("/ingest", enqueue, methods=["POST"])])


@dataclass
class Result:
    case: str
    store: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_us_per_request: float


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_listening(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


def _find(pattern: str, text: str) -> str:
    match = re.search(pattern, text, re.M)
    if match is None:
        raise ValueError(f"wrk output lacks {pattern!r}:\n{text}")
    return match.group(1)


def _to_ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if match is None:
        raise ValueError(f"unexpected wrk latency {value!r}")
    number, unit = match.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def _script_for(run: str) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA.replace("PREFIX", f"{run}-{time.time_ns()}"))
    return script.name


@dataclass(frozen=True)
class Placement:
    """Which CPUs the server and wrk may use (None: wherever the scheduler likes)."""

    server: set[int] | None = None
    load: set[int] | None = None

    @classmethod
    def choose(cls, pin: bool) -> Placement:
        cpus = sorted(os.sched_getaffinity(0))
        if not pin or len(cpus) < 2:
            return cls()
        return cls(server={cpus[0]}, load=set(cpus[1:]))

    def describe(self) -> str:
        if self.server is None or self.load is None:
            return "not pinned"
        return f"server pinned to CPU {sorted(self.server)}, wrk to CPU {sorted(self.load)}"


def _pinned(cpus: set[int] | None) -> Callable[[], None] | None:
    if cpus is None:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of every thread of ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5), counted from 1
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


class Server:
    """One case's uvicorn process, started once and driven in short bursts between the others'."""

    def __init__(self, case: str, store: str, database_url: str, placement: Placement) -> None:
        self.case, self.store, self.placement = case, store, placement
        self.port = _free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve",
                case,
                "--port",
                str(self.port),
                "--database-url",
                database_url,
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_pinned(placement.server),  # the benchmark runs no threads of its own
        )

    def ready(self) -> None:
        _wait_until_listening(self.port, time.monotonic() + 30)
        self._wrk("warm", ["-c16", "-d2s"])

    def burst(self, seconds: int, connections: int) -> Result:
        cpu_before = _cpu_seconds(self.process.pid)
        out = self._wrk("run", [f"-c{connections}", f"-d{seconds}s", "--latency"])
        cpu_used = _cpu_seconds(self.process.pid) - cpu_before
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        return Result(
            self.case,
            self.store,
            float(_find(r"Requests/sec:\s+([\d.]+)", out)),
            _to_ms(_find(r"^\s+50%\s+(\S+)", out)),
            _to_ms(_find(r"^\s+99%\s+(\S+)", out)),
            int(errors.group(1)) if errors else 0,
            cpu_used / int(_find(r"(\d+) requests in", out)) * 1e6,
        )

    def _wrk(self, run: str, options: list[str]) -> str:
        script = _script_for(run)
        try:
            return subprocess.run(
                ["wrk", "-t2", *options, "-s", script, f"http://127.0.0.1:{self.port}/ingest"],
                capture_output=True,
                text=True,
                check=True,
                preexec_fn=_pinned(self.placement.load),
            ).stdout
        finally:
            os.unlink(script)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def serve(case: str, port: int, database_url: str) -> None:
    import uvicorn

    from gateway.gc_tuning import tune_for_serving

    app = build_app(case, database_url)
    tune_for_serving()  # as `tim-gateway serve` does; the same for every case, bare included
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", choices=["bare", "shell", "enqueue"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=int, default=3, help="length of each burst")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--rounds", type=int, default=15, help="bursts per case, interleaved; medians reported"
    )
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument("--no-pin", action="store_true", help="let server and wrk share every CPU")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.database_url)
        return 0
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    postgres = os.environ.get("TEST_POSTGRES_URL")
    if not postgres:
        print("TEST_POSTGRES_URL not set: PostgreSQL case skipped", file=sys.stderr)
    placement = Placement.choose(pin=not args.no_pin)
    cases = [
        ("bare", "-", ""),
        ("shell", "-", f"sqlite:///{workdir / 'shell.db'}"),  # the app opens a store it never writes
        ("enqueue", "sqlite", f"sqlite:///{workdir / 'bench.db'}"),
    ]
    if postgres:
        from tests.conftest import reset_postgres

        reset_postgres(postgres)
        cases.append(("enqueue", "postgresql", postgres))
    servers: list[Server] = []
    rounds: list[list[Result]] = []
    try:
        for case, store, url in cases:
            servers.append(Server(case, store, url, placement))
        for server in servers:
            server.ready()
        for round_number in range(args.rounds):
            # Every case once per round, in an order that alternates, so neither a case's place
            # in the round nor the machine's drift over minutes favours one case.
            order = servers if round_number % 2 == 0 else servers[::-1]
            measured = {id(server): server.burst(args.seconds, args.connections) for server in order}
            rounds.append([measured[id(server)] for server in servers])
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    # Per case, the round with the median throughput.
    results = [
        sorted(cases, key=lambda r: r.requests_per_second)[len(cases) // 2]
        for cases in zip(*rounds, strict=True)
    ]
    # Each round's own ratio to that round's bare endpoint: the machine drifts between rounds,
    # and a ratio taken minutes apart mixes two different machines.
    per_round = [[r.requests_per_second / now[0].requests_per_second for r in now] for now in rounds]
    if args.json:
        report = [
            {**r.__dict__, "ratio_per_round": [round(ratios[index], 3) for ratios in per_round]}
            for index, r in enumerate(results)
        ]
        print(json.dumps(report, indent=2))
        return 0
    baseline = results[0].requests_per_second
    print(
        f"wrk -t2 -c{args.connections} -d{args.seconds}s bursts, 1 KB POST bodies, a uvicorn server per case;"
    )
    print(placement.describe() + ";")
    print(f"median of {args.rounds} rounds; 'per round': each round's ratio to its own bare burst")
    print(
        "| case | store | req/s | vs bare | per round: median (range) | p50 ms | p99 ms | non-2xx "
        "| server CPU µs/req |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for index, r in enumerate(results):
        ratios = sorted(round_ratios[index] for round_ratios in per_round)
        spread = f"{ratios[len(ratios) // 2]:.0%} ({ratios[0]:.0%}-{ratios[-1]:.0%})"
        print(
            f"| {r.case} | {r.store} | {r.requests_per_second:,.0f} | {r.requests_per_second / baseline:.0%} "
            f"| {spread} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.errors} | {r.cpu_us_per_request:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
