"""A complete, fake gateway environment for tests that start real ``tim-gateway`` processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from gateway import settings
from gateway.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]

FAKE_SECRETS = {
    "TIM_SECRET_KEY": "tim-secret-3f9a1c7e5b2d4",
    "TIM_CALLBACK_TOKEN": "callback-token-8e1f2a9c",
    "SF_CLIENT_SECRET": "sf-client-secret-71c3e0b4",
}

BASE_ENVIRONMENT = {
    "TIM_SDKAPPID": "1400000001",
    "TIM_ADMIN_IDENTIFIER": "administrator",
    "SF_INSTANCE_URL": "https://example.my.salesforce.com",
    "SF_CLIENT_ID": "3MVG9-test-client-id",
    "SF_ORG_ID": "00D000000000001EAA",
    **FAKE_SECRETS,
}


def gateway_environment(**overrides: str) -> dict[str, str]:
    """os.environ minus anything GATEWAY-ish from the developer's shell, plus a valid configuration."""
    keep = {
        k: v for k, v in os.environ.items() if not k.startswith(("TIM_", "SF_", "GATEWAY_", "DATABASE_URL"))
    }
    return {**keep, **BASE_ENVIRONMENT, "PYTHONPATH": str(PROJECT_ROOT), **overrides}


def gateway_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "gateway.cli", *args]


def run_gateway(*args: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``tim-gateway ARGS`` to completion, as an operator's shell would run it; output captured."""
    return subprocess.run(
        gateway_command(*args), env=environment, capture_output=True, text=True, timeout=120, check=False
    )


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gateway_settings(**overrides: str) -> Settings:
    """In-process tests' settings: the fake credentials above, plus ``overrides`` (VARIABLE=value)."""
    return settings.load(Settings, {**BASE_ENVIRONMENT, **overrides})
