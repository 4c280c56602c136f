"""Tencent IM REST domains by data centre, and the names operators may use for them.

The domain must match the region the SDKAppID was created in; a wrong one answers 70016/70020
(docs/tencent-im.md, "REST basics").
"""

from __future__ import annotations

# The REST domain of each data centre: https://www.tencentcloud.com/document/product/1047/34620
REGION_DOMAINS: dict[str, str] = {
    "china": "console.tim.qq.com",
    "singapore": "adminapisgp.im.qcloud.com",
    "seoul": "adminapikr.im.qcloud.com",
    "tokyo": "adminapijpn.im.qcloud.com",
    "frankfurt": "adminapiger.im.qcloud.com",
    "mumbai": "adminapiind.im.qcloud.com",
    "silicon-valley": "adminapiusa.im.qcloud.com",
    "jakarta": "adminapiidn.im.qcloud.com",
}
_REGION_ALIASES: dict[str, str] = {
    "cn": "china", "mainland": "china", "china-mainland": "china", "chinese-mainland": "china",
    "sgp": "singapore", "sg": "singapore",
    "kr": "seoul", "korea": "seoul",
    "jp": "tokyo", "jpn": "tokyo", "japan": "tokyo",
    "ger": "frankfurt", "de": "frankfurt", "germany": "frankfurt", "eu": "frankfurt",
    "ind": "mumbai", "india": "mumbai", "in": "mumbai",
    "usa": "silicon-valley", "us": "silicon-valley", "siliconvalley": "silicon-valley",
    "idn": "jakarta", "indonesia": "jakarta", "id": "jakarta",
}  # fmt: skip


def base_url_for_region(region: str) -> str:
    """The REST base URL for a data centre name (``"singapore"``, ``"sgp"``, ``"china"``, ``"cn"``...)."""
    key = region.strip().lower().replace("_", "-").replace(" ", "-")
    key = _REGION_ALIASES.get(key, key)
    if key not in REGION_DOMAINS:
        allowed = ", ".join(sorted(REGION_DOMAINS))
        # The name given is not echoed: it comes from TIM_REGION, and errors never quote settings.
        raise ValueError(f"unknown Tencent IM region; allowed: {allowed} (or their short codes)")
    return f"https://{REGION_DOMAINS[key]}"
