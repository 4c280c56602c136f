"""What the Salesforce client returns: plain records, free of httpx."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SalesforceUser:
    id: str
    name: str
    email: str | None
    username: str | None
    is_active: bool


@dataclass(frozen=True)
class UserInfo:
    """Who an access token belongs to (OpenID Connect userinfo; docs/salesforce.md#userinfo)."""

    user_id: str
    organization_id: str
    username: str | None
    name: str | None
    email: str | None
    claims: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class UpsertResult:
    """The record an upsert wrote, and whether it inserted it (``created``) or updated it."""

    id: str
    created: bool
