"""Ingest benchmark: how fast the gateway stores inbound events, against a bare endpoint.

Run by hand (never in CI): ``.venv/bin/python bench/ingest.py`` (needs ``wrk``: ``apt-get install wrk``;
set ``TEST_POSTGRES_URL`` to include PostgreSQL). For each case it starts a real uvicorn server
(uvloop + httptools, one process, no access log) and drives it with ``wrk -t2 -c64 -d10s``, all
on loopback. With two CPUs or more, the server is pinned to one CPU and wrk to another
(``--no-pin`` turns that off): otherwise the load generator competes with the server for the
same cores, and what is measured is mostly the scheduler (on the 2-CPU machine of the README,
unpinned ratios swung between 30 % and 44 % from run to run). PostgreSQL itself is not pinned.
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
LUA = """
local threads = 0
function setup(thread)
  thread:set("thread_number", threads)
  threads = threads + 1
end
local counter = 0
local body = string.rep("x", 1000)
function request()
  counter = counter + 1
  return wrk.format("POST", wrk.path, {["Content-Type"] = "application/octet-stream",
                    ["X-Dedupe-Key"] = "PREFIX-" .. thread_number .. "-" .. counter}, body)
end
"""


def build_app(mode: str, database_url: str) -> Starlette:
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    if mode == "bare":

        async def bare(request: Request) -> Response:
            await request.body()
            return JSONResponse({"ack": True})

        return Starlette(routes=[Route("/ingest", bare, methods=["POST"])])

    from gateway.app import AppOptions, create_app
    from gateway.events import EnqueueResult

    async def not_stored(*event: object) -> EnqueueResult:
        return EnqueueResult(id=0, created=True)

    async def enqueue(request: Request) -> Response:
        body = await request.body()
        key = request.headers["x-dedupe-key"]
        store = not_stored if mode == "shell" else request.app.state.store.inbox.enqueue
        result = await store(
            "bench", key, "bench.event", f"conversation-{hash(key) % 500}", {"body": body.decode()}
        )
        # A duplicate would mean the benchmark reused a key: answer 409 so it shows as non-2xx.
        return JSONResponse({"ack": True, "id": result.id}, status_code=200 if result.created else 409)

    options = AppOptions(
        database_url=database_url,
        embedded_worker=False,
        extra_routes=[Route("/ingest", enqueue, methods=["POST"])],
    )
    return create_app(options)


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


def measure(
    case: str, store: str, database_url: str, seconds: int, connections: int, placement: Placement
) -> Result:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", case, "--port", str(port), "--database-url", database_url],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_pinned(placement.server),  # the benchmark runs no threads of its own
    )
    try:
        _wait_until_listening(port, time.monotonic() + 30)
        warm_up = _script_for("warm")
        subprocess.run(
            ["wrk", "-t2", "-c16", "-d2s", "-s", warm_up, f"http://127.0.0.1:{port}/ingest"],
            capture_output=True,
            check=True,
            preexec_fn=_pinned(placement.load),
        )
        measured = _script_for("run")
        cpu_before = _cpu_seconds(server.pid)
        run = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                measured,
                f"http://127.0.0.1:{port}/ingest",
            ],
            capture_output=True,
            text=True,
            check=True,
            preexec_fn=_pinned(placement.load),
        )
        cpu_used = _cpu_seconds(server.pid) - cpu_before
        for name in (warm_up, measured):
            os.unlink(name)
    finally:
        server.terminate()
        server.wait(timeout=30)
    out = run.stdout
    rps = float(_find(r"Requests/sec:\s+([\d.]+)", out))
    p50 = _to_ms(_find(r"^\s+50%\s+(\S+)", out))
    p99 = _to_ms(_find(r"^\s+99%\s+(\S+)", out))
    errors_match = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    requests = int(_find(r"(\d+) requests in", out))
    return Result(
        case,
        store,
        rps,
        p50,
        p99,
        int(errors_match.group(1)) if errors_match else 0,
        cpu_used / requests * 1e6,
    )


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
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median is reported")
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
    rounds: list[list[Result]] = []
    for round_number in range(args.rounds):  # interleaved, so drift on a shared machine hits every case
        database = workdir / f"bench-{round_number}.db"
        unused = f"sqlite:///{workdir / f'shell-{round_number}.db'}"  # the app opens a store it never writes
        current = [
            measure("bare", "-", "", args.seconds, args.connections, placement),
            measure("shell", "-", unused, args.seconds, args.connections, placement),
        ]
        current.append(
            measure("enqueue", "sqlite", f"sqlite:///{database}", args.seconds, args.connections, placement)
        )
        if postgres:
            from tests.conftest import reset_postgres

            reset_postgres(postgres)
            current.append(
                measure("enqueue", "postgresql", postgres, args.seconds, args.connections, placement)
            )
        rounds.append(current)
    shutil.rmtree(workdir, ignore_errors=True)
    # Per case, the round with the median throughput.
    results = [
        sorted(cases, key=lambda r: r.requests_per_second)[len(cases) // 2]
        for cases in zip(*rounds, strict=True)
    ]
    if args.json:
        print(json.dumps([r.__dict__ for r in results], indent=2))
        return 0
    baseline = results[0].requests_per_second
    # Each round's own ratio to that round's bare endpoint: the machine drifts between rounds,
    # and a ratio taken minutes apart mixes two different machines.
    per_round = [[r.requests_per_second / now[0].requests_per_second for r in now] for now in rounds]
    print(f"wrk -t2 -c{args.connections} -d{args.seconds}s, 1 KB POST bodies, one uvicorn process, loopback;")
    print(placement.describe() + ";")
    print(f"median of {args.rounds} interleaved rounds; 'per round': each round's ratio to its own bare run")
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
