"""Instructions per request, counted by callgrind: the ingest benchmark's cost, without the noise.

Run by hand (never in CI): ``.venv/bin/python bench/instructions.py`` (needs ``valgrind`` and
``wrk``: ``apt-get install valgrind wrk``). Why this exists beside ``bench/ingest.py``: on the
shared VM the benchmarks run on, the same server's requests/s moved by up to 45 % between runs
minutes apart, so a change worth 5 % cannot be seen in requests/s. Instructions executed do not
depend on what else the machine is doing: two runs of the same code agreed within 0.5 %.

Each case is the same uvicorn server ``bench/ingest.py`` measures, run under
``valgrind --tool=callgrind``. It is warmed up, its counters are zeroed
(``callgrind_control -z``), ``wrk -c64`` drives it, and once the requests still in flight have
been answered its counters are dumped (``callgrind_control -d``). The result is instructions per
request sent, for all threads together and for the event-loop thread alone (the rest is the
store's thread and the WAL checkpointer).

What it cannot see, so it complements requests/s rather than replacing it: time in the kernel
(sockets, file writes), cache misses and waiting. Under valgrind the threads also take turns
on one core, so batches of the group commit may differ in size from a real run. And callgrind
counts every byte of a ``rep stosb``/``rep movsb`` (how glibc clears and copies large blocks)
as one instruction, so SQLite zeroing a fresh 4 KB page counts ~4,000 instructions for what the
CPU does in a few hundred cycles: about 13,000 of the enqueue case's instructions per request
were such bytes before SQLite's insert stopped reading rows back, and ~3,000 fewer since
(counted in-process), which makes its count pessimistic by 2-3 %.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ingest import _free_port, _script_for, _wait_until_listening

HERE = Path(__file__).resolve().parent


@dataclass
class Count:
    case: str
    requests: int
    per_thread: list[int]  # instructions, the event loop's thread first

    @property
    def per_request(self) -> float:
        return sum(self.per_thread) / self.requests

    @property
    def loop_per_request(self) -> float:
        return self.per_thread[0] / self.requests


def _wrk(port: int, run: str, seconds: int) -> str:
    script = _script_for(run)
    try:
        return subprocess.run(
            [
                "wrk",
                "-t2",
                "-c64",
                f"-d{seconds}s",
                "--timeout",
                "60s",
                "-s",
                script,
                f"http://127.0.0.1:{port}/ingest",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        Path(script).unlink()


def measure(case: str, database_url: str, seconds: int, workdir: Path) -> Count:
    port = _free_port()
    out = workdir / f"{case}.%p"
    process = subprocess.Popen(
        [
            "valgrind",
            "--tool=callgrind",
            "--separate-threads=yes",
            f"--callgrind-out-file={out}",
            sys.executable,
            str(HERE / "ingest.py"),
            "--serve",
            case,
            "--port",
            str(port),
            "--database-url",
            database_url,
        ],
        cwd=HERE.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_listening(port, time.monotonic() + 600)  # imports under valgrind are slow
        _wrk(port, "warm", 10)
        subprocess.run(["callgrind_control", "-z", str(process.pid)], check=True, capture_output=True)
        report = _wrk(port, "run", seconds)
        time.sleep(3)  # the requests in flight when wrk stopped are still being answered
        subprocess.run(["callgrind_control", "-d", str(process.pid)], check=True, capture_output=True)
    finally:
        process.terminate()
        process.wait(timeout=120)
    sent = re.search(r"^SENT (\d+)$", report, re.M)
    if sent is None:
        raise RuntimeError(f"wrk did not report what it sent:\n{report}")
    # One file per thread: <case>.<pid>.1-01 (the main thread, which runs the event loop), -02…
    dumps = sorted(workdir.glob(f"{case}.{process.pid}.1-*"))
    return Count(case, int(sent.group(1)), [_instructions(dump) for dump in dumps])


def _instructions(dump: Path) -> int:
    summary = re.search(r"^summary: (\d+)$", dump.read_text(), re.M)
    if summary is None:
        raise RuntimeError(f"{dump} has no summary line")
    return int(summary.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30, help="length of each measured wrk run")
    parser.add_argument("--runs", type=int, default=1, help="runs per case (they agree within ~0.5 %%)")
    parser.add_argument(
        "--cases", default="bare,shell,enqueue", help="comma-separated subset of bare, shell, enqueue"
    )
    args = parser.parse_args()
    for tool in ("valgrind", "callgrind_control", "wrk"):
        if shutil.which(tool) is None:
            print(f"{tool} is needed: apt-get install valgrind wrk", file=sys.stderr)
            return 2
    workdir = Path(tempfile.mkdtemp(prefix="bench-instructions-"))
    try:
        counts = [
            measure(case, f"sqlite:///{workdir / f'{case}-{run}.db'}", args.seconds, workdir)
            for run in range(args.runs)
            for case in args.cases.split(",")
        ]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    bare = min((c.per_request for c in counts if c.case == "bare"), default=float("nan"))
    print(f"callgrind, wrk -t2 -c64 -d{args.seconds}s, 1 KB POST bodies; SQLite store; {args.runs} run(s)")
    print("| case | requests | instructions/req | event-loop thread | other threads | bare ÷ case |")
    print("|---|---:|---:|---:|---:|---:|")
    for c in counts:
        print(
            f"| {c.case} | {c.requests:,} | {c.per_request:,.0f} | {c.loop_per_request:,.0f} "
            f"| {c.per_request - c.loop_per_request:,.0f} | {bare / c.per_request:.0%} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
