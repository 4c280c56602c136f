"""``tim-gateway emulate tencent|salesforce``: one emulator on its own, on loopback.

Each emulator reads the gateway's own variables (``TIM_*``, ``SF_*``), so one environment
configures both sides of a local set-up.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

import uvicorn
from starlette.applications import Starlette


def build(
    service: str, environ: Mapping[str, str], *, callback_url: str | None, outbound_url: str | None
) -> Starlette:
    if service == "tencent":
        from emulators.tencent_im import TencentEmulatorConfig
        from emulators.tencent_im import create_app as tencent_app

        return tencent_app(TencentEmulatorConfig.from_env(environ, callback_url))
    if service == "salesforce":
        from emulators.salesforce import SalesforceEmulatorConfig
        from emulators.salesforce import create_app as salesforce_app

        return salesforce_app(SalesforceEmulatorConfig.from_env(environ, outbound_url))
    raise ValueError(f"unknown service {service!r}: tencent or salesforce")


def run(service: str, *, host: str, port: int, callback_url: str | None, outbound_url: str | None) -> int:
    try:
        app = build(service, os.environ, callback_url=callback_url, outbound_url=outbound_url)
    except ValueError as exc:
        print(f"emulator configuration error: {exc}", file=sys.stderr)
        return 2
    print(f"{service} emulator on http://{host}:{port} (test API under /_emulator)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    return 0
