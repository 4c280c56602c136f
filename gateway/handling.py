"""The handler contract: what the worker runs, and what a handler may ask of the outside world.

It lives in the core so that dependencies point one way: ``handlers/`` implements this
contract and imports it; the worker, the app and the store never import ``handlers/``. The
composition root (:mod:`gateway.runtime`) builds the registry with real clients and hands it
to the worker.

The ports are small protocols rather than the client classes, so a handler states what it
needs and nothing more; the real clients satisfy them (mypy checks it where the composition
root builds :class:`Ports`), and tests hand in the same clients pointed at the emulators.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.clients.salesforce.models import SalesforceUser, UpsertResult
from gateway.clients.tencent_im.models import AddMembersResult, GroupInfo, HistoryPage, SentMessage
from gateway.events import Event

Handler = Callable[[Event], Awaitable[None]]
"""Runs one event. Must be idempotent: the inbox delivers at least once."""

HandlerRegistry = Mapping[str, Handler]
"""Handlers by event kind; an event whose kind has none is dead-lettered with that reason."""


class TencentIM(Protocol):
    """What handlers may do in Tencent Cloud IM (as the App admin)."""

    async def account_import(
        self, user_id: str, nick: str | None = None, face_url: str | None = None
    ) -> None: ...

    async def create_group(
        self,
        group_id: str | None,
        name: str,
        *,
        type: str = "Private",
        owner: str | None = None,
        members: Sequence[str] = (),
    ) -> str: ...

    async def destroy_group(self, group_id: str) -> bool: ...

    async def add_group_members(
        self, group_id: str, user_ids: Iterable[str], *, silence: bool = True
    ) -> AddMembersResult: ...

    async def delete_group_members(
        self, group_id: str, user_ids: Iterable[str], *, reason: str | None = None, silence: bool = False
    ) -> None: ...

    async def get_group_info(self, group_ids: Iterable[str]) -> list[GroupInfo]: ...

    async def get_group_members(self, group_id: str) -> list[str]: ...

    async def send_group_message(
        self,
        group_id: str,
        msg_body: list[dict[str, Any]],
        *,
        from_account: str | None = None,
        random: int | None = None,
        forbid_after_callback: bool = True,
        cloud_custom_data: str | None = None,
    ) -> SentMessage: ...

    def iter_group_history(
        self, group_id: str, *, newest_seq: int | None = None, stop_after_seq: int = 0
    ) -> AsyncIterator[HistoryPage]: ...


class Salesforce(Protocol):
    """What handlers may do in Salesforce (as the gateway's integration user)."""

    async def create_case(self, fields: Mapping[str, object]) -> str: ...

    async def upsert_case(
        self, external_id_field: str, external_id: str, fields: Mapping[str, object]
    ) -> UpsertResult: ...

    async def query(self, soql: str) -> list[dict[str, Any]]: ...

    async def get_case(self, case_id: str) -> dict[str, Any]: ...

    async def update_case(self, case_id: str, fields: Mapping[str, object]) -> None: ...

    async def create_case_comment(self, case_id: str, body: str, *, is_published: bool = False) -> str: ...

    async def upload_file(self, case_id: str, title: str, filename: str, data: bytes) -> str: ...

    async def get_user(self, user_id: str) -> SalesforceUser: ...


@dataclass(frozen=True)
class Ports:
    """The outside world as handlers see it."""

    tencent: TencentIM
    salesforce: Salesforce


RegistryFactory = Callable[[Ports], HandlerRegistry]
"""Builds handlers around the ports: ``handlers.build_registry`` and every handler plugin."""
