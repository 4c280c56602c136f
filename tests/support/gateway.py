"""The gateway's own services wired to both emulators in-process: what flow tests stand on.

The real clients, built from settings as in production, reach the emulators over
``httpx.ASGITransport``; the emulators read the same environment, so credentials agree.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from emulators.salesforce import SalesforceEmulator, SalesforceEmulatorConfig
from emulators.salesforce import create_app as salesforce_app
from emulators.salesforce.ids import random_org_id
from emulators.tencent_im import TencentEmulator, TencentEmulatorConfig
from emulators.tencent_im import create_app as tencent_app
from gateway import settings
from gateway.handling import RegistryFactory
from gateway.services import Services
from gateway.settings import Settings

TENCENT_URL = "https://tim.emulator.test"
SALESFORCE_URL = "https://acme.my.salesforce.com"


def emulated_environment(database_url: str, **overrides: str) -> dict[str, str]:
    """Fresh credentials that the gateway and both emulators read alike."""
    return {
        "DATABASE_URL": database_url,
        "TIM_SDKAPPID": "1400000001",
        "TIM_SECRET_KEY": secrets.token_hex(32),
        "TIM_ADMIN_IDENTIFIER": "administrator",
        "TIM_API_BASE_URL": TENCENT_URL,
        "TIM_CALLBACK_TOKEN": secrets.token_urlsafe(24),
        "SF_INSTANCE_URL": SALESFORCE_URL,
        "SF_CLIENT_ID": "3MVG9test" + secrets.token_hex(8),
        "SF_CLIENT_SECRET": secrets.token_hex(32),
        "SF_ORG_ID": random_org_id(),
        "GATEWAY_POLL_SECONDS": "0.05",
        **overrides,
    }


@dataclass
class OnEmulators:
    settings: Settings
    services: Services
    tencent: TencentEmulator
    salesforce: SalesforceEmulator


@contextlib.asynccontextmanager
async def gateway_on_emulators(
    database_url: str, handlers: RegistryFactory, *, run_worker: bool = True, **overrides: str
) -> AsyncIterator[OnEmulators]:
    """Open the gateway's :class:`Services` against fresh emulators; ``overrides`` are variables."""
    environ = emulated_environment(database_url, **overrides)
    configured = settings.load(Settings, environ)
    tim = tencent_app(TencentEmulatorConfig.from_env(environ, None))
    sf = salesforce_app(SalesforceEmulatorConfig.from_env(environ, None))
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=tim)) as tim_http,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=sf)) as sf_http,
        Services(
            configured, handlers, run_worker=run_worker, tencent_http=tim_http, salesforce_http=sf_http
        ) as services,
    ):
        yield OnEmulators(configured, services, tim.state.emulator, sf.state.emulator)
