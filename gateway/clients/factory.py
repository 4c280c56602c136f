"""Build the gateway's clients from its settings: the one place credentials meet code."""

from __future__ import annotations

import httpx

from gateway.clients.salesforce.client import SalesforceClient
from gateway.clients.tencent_im.client import TencentIMClient
from gateway.clients.tencent_im.regions import base_url_for_region
from gateway.settings import Settings


def tencent_client(settings: Settings, *, http: httpx.AsyncClient | None = None) -> TencentIMClient:
    return TencentIMClient(
        settings.tim_sdkappid,
        settings.tim_secret_key.get_secret_value(),
        settings.tim_admin_identifier,
        settings.tim_api_base_url or base_url_for_region(settings.tim_region),
        http=http,
    )


def salesforce_client(settings: Settings, *, http: httpx.AsyncClient | None = None) -> SalesforceClient:
    private_key = (
        settings.sf_jwt_private_key_file.read_text(encoding="utf-8")
        if settings.sf_jwt_private_key_file
        else None
    )
    return SalesforceClient(
        settings.sf_instance_url,
        settings.sf_client_id,
        client_secret=settings.sf_client_secret.get_secret_value() if settings.sf_client_secret else None,
        jwt_private_key=private_key,
        jwt_username=settings.sf_jwt_username,
        login_url=settings.sf_login_url,
        api_version=settings.sf_api_version,
        auto_assign_on_create=settings.sf_auto_assign_on_create,
        http=http,
    )
