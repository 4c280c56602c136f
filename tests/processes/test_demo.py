"""``tim-gateway demo`` and ``tim-gateway emulate``, run as a newcomer would run them."""

from __future__ import annotations

import signal
import subprocess
import time

import httpx

from tests.support.environment import free_port, gateway_command, gateway_environment, run_gateway


def test_the_demo_runs_green_end_to_end_and_reports_unbuilt_steps_as_skipped() -> None:
    finished = run_gateway("demo", environment=gateway_environment())
    assert finished.returncode == 0, finished.stdout + finished.stderr
    lines = finished.stdout.splitlines()
    assert sum(line.strip().startswith("ok    started") for line in lines) == 3
    assert any("gateway -> Salesforce: OAuth client credentials" in line for line in lines)
    assert any("gateway -> Tencent IM: admin UserSig accepted" in line for line in lines)
    skipped = [line for line in lines if line.strip().startswith("skip")]
    assert skipped and all("not built yet" in line for line in skipped)
    assert "FAIL" not in finished.stdout
    assert lines[-1].endswith("0 step(s) failed")


def test_emulate_tencent_serves_the_rest_api_on_loopback() -> None:
    port = free_port()
    process = subprocess.Popen(
        gateway_command("emulate", "tencent", "--port", str(port)),
        env=gateway_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.post(
                    f"http://127.0.0.1:{port}/v4/im_open_login_svc/account_check",
                    json={},
                    params={
                        "sdkappid": "1400000001",
                        "identifier": "administrator",
                        "usersig": "not-a-sig",
                        "random": "1",
                        "contenttype": "json",
                    },
                )
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "emulator did not start"
                time.sleep(0.2)
        assert answer.status_code == 200
        assert answer.json()["ActionStatus"] == "FAIL"
        assert answer.json()["ErrorCode"] == 70003  # an undecodable UserSig, as Tencent answers
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_emulate_salesforce_refuses_an_org_id_with_a_bad_checksum() -> None:
    environment = gateway_environment(SF_ORG_ID="00D000000000001AAA")
    finished = run_gateway("emulate", "salesforce", "--port", str(free_port()), environment=environment)
    assert finished.returncode == 2
    assert "00D000000000001AAA" in finished.stderr


def test_demo_keep_running_stays_up_until_interrupted_then_stops_cleanly() -> None:
    process = subprocess.Popen(
        gateway_command("demo", "--keep-running"),
        env=gateway_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.strip().startswith("database"):
                break
        gateway_url = next(line.split()[1] for line in lines if line.strip().startswith("gateway "))
        assert httpx.get(f"{gateway_url}/healthz").json() == {"status": "ok"}
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 0
        assert "Traceback" not in stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
