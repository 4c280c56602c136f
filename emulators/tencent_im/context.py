"""Who is calling and from where: what a command handler needs besides the request body.

REST calls run as the App admin from ``RESTAPI``; the test API's "a user says X" runs as that
user from ``Web``. Callbacks copy ``operator``, ``client_ip`` and ``platform`` into the
query string and ``Operator_Account``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emulators.tencent_im.emulator import TencentEmulator

JSON = dict[str, Any]


@dataclass(frozen=True)
class CallContext:
    """The caller of one API: ``operator`` account, its IP, and its OptPlatform."""

    operator: str
    client_ip: str = "127.0.0.1"
    platform: str = "RESTAPI"
    is_admin: bool = True


Handler = Callable[["TencentEmulator", CallContext, JSON], Awaitable[JSON]]
