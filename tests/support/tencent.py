"""Helpers for tests that speak raw Tencent IM REST to the emulator: keys, UserSigs, a movable clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from TLSSigAPIv2 import TLSSigAPIv2

from emulators.tencent_im import TencentEmulator

SDKAPPID = 1400000001
KEY = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
ADMIN = "administrator"
JSON = dict[str, Any]


class Clock:
    """Wall clock a test can move."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def sig(identifier: str = ADMIN, *, key: str = KEY, appid: int = SDKAPPID, expire: int = 86400) -> str:
    return str(TLSSigAPIv2(appid, key).gen_sig(identifier, expire))


@dataclass
class Tim:
    emulator: TencentEmulator
    http: httpx.AsyncClient
    clock: Clock

    async def rest(
        self,
        command: str,
        body: JSON | bytes,
        *,
        service: str = "group_open_http_svc",
        identifier: str = ADMIN,
        usersig: str | None = None,
        appid: int = SDKAPPID,
    ) -> JSON:
        params = {
            "sdkappid": str(appid),
            "identifier": identifier,
            "usersig": usersig or sig(identifier),
            "random": "42",
            "contenttype": "json",
        }
        kwargs: dict[str, Any] = {"content": body} if isinstance(body, bytes) else {"json": body}
        response = await self.http.post(f"/v4/{service}/{command}", params=params, **kwargs)
        assert response.status_code == 200
        data: JSON = response.json()
        return data

    async def imported(self, *user_ids: str) -> None:
        for user_id in user_ids:
            assert (await self.rest("account_import", {"UserID": user_id}, service="im_open_login_svc"))[
                "ErrorCode"
            ] == 0

    async def group(self, group_id: str = "case-1", **extra: Any) -> JSON:
        return await self.rest(
            "create_group", {"Type": "Private", "Name": "Support", "GroupId": group_id, **extra}
        )

    async def send(self, group_id: str, text: str, random: int, **extra: Any) -> JSON:
        body = {"GroupId": group_id, "Random": random, "MsgBody": [text_elem(text)], **extra}
        return await self.rest("send_group_msg", body)


def text_elem(text: str) -> JSON:
    return {"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}


def frozen() -> float:
    return 1000.0
