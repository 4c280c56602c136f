"""Every call to Tencent IM or Salesforce is timed in /metrics, labelled with how it ended."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client import REGISTRY

from emulators.tencent_im import TencentEmulatorConfig, create_app
from gateway.clients.tencent_im.client import TencentIMClient
from gateway.errors import PermanentError

pytestmark = pytest.mark.anyio

SDKAPPID, KEY, ADMIN = 1400000123, "metrics-test-key-0123456789", "administrator"


def _count(operation: str, outcome: str) -> float:
    labels = {"service": "tencent_im", "operation": operation, "outcome": outcome}
    return REGISTRY.get_sample_value("gateway_remote_call_duration_seconds_count", labels) or 0.0


async def test_successful_and_failed_calls_are_counted_apart() -> None:
    app = create_app(TencentEmulatorConfig(SDKAPPID, KEY, ADMIN))
    api = "group_open_http_svc/create_group"
    ok_before, failed_before = _count(api, "ok"), _count(api, "permanent")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        client = TencentIMClient(SDKAPPID, KEY, ADMIN, "http://tencent.test", http=http)
        await client.create_group("500000000000001", "Case 00001001")
        with pytest.raises(PermanentError):
            await client.create_group("@TGS#reserved", "not allowed")  # reserved prefix: 10004
    assert _count(api, "ok") == ok_before + 1
    assert _count(api, "permanent") == failed_before + 1
