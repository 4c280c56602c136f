"""The emulated service: state, callbacks, limits and faults behind one ``handle_rest`` entry point.

The HTTP layer (``rest.py``) only moves bytes; everything Tencent decides about a call happens
here, in the order the real service appears to apply it: SDKAppID, UserSig, command, admin
rights, injected faults, the per-API rate limit, the JSON body, then the command itself.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from emulators.faults import Faults
from emulators.tencent_im import (
    accounts,
    group_info,
    group_profile,
    groups,
    history,
    members,
    messages,
    recall,
)
from emulators.tencent_im.callbacks import CallbackDispatcher
from emulators.tencent_im.config import TencentEmulatorConfig
from emulators.tencent_im.context import CallContext, Handler
from emulators.tencent_im.errors import (
    ACCOUNT_NEEDS_ADMIN,
    API_RATE,
    BAD_COMMAND,
    INTERNAL,
    JSON_PARSE,
    NEEDS_ADMIN,
    SDKAPPID_INVALID,
    SDKAPPID_NOT_FOUND,
    URL_ACCOUNT,
    TimError,
    fail,
)
from emulators.tencent_im.ratelimit import RateLimiter
from emulators.tencent_im.state import Account, EmulatorState
from emulators.tencent_im.usersig import UserSigError, verify_usersig

JSON = dict[str, Any]
log = logging.getLogger("emulators.tencent_im")

COMMANDS: dict[tuple[str, str], Handler] = {
    **{("im_open_login_svc", name): h for name, h in accounts.COMMANDS.items()},
    **{("group_open_http_svc", name): h for name, h in groups.COMMANDS.items()},
    **{("group_open_http_svc", name): h for name, h in members.COMMANDS.items()},
    **{("group_open_http_svc", name): h for name, h in messages.COMMANDS.items()},
    **{("group_open_http_svc", name): h for name, h in group_info.COMMANDS.items()},
    **{("group_open_http_svc", name): h for name, h in history.COMMANDS.items()},
    **{("group_open_http_svc", name): h for name, h in group_profile.COMMANDS.items()},
    **{("group_open_http_svc", name): h for name, h in recall.COMMANDS.items()},
}


@dataclass
class RestAnswer:
    """What the HTTP layer sends back: a JSON envelope (always 200) or an injected HTTP error."""

    status: int
    body: JSON | str


class TencentEmulator:
    """One Tencent IM app, in memory. ``app.state.emulator`` is an instance of this class."""

    def __init__(self, config: TencentEmulatorConfig, http: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self.state = EmulatorState()
        self.callbacks = CallbackDispatcher(config, http)
        self._limiter = RateLimiter()
        # The App admin account exists from the start, as it does once created in the console.
        self.state.accounts[config.admin_identifier] = Account(
            config.admin_identifier, imported_at=self.now()
        )

    @property
    def faults(self) -> Faults:
        return self.config.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self.config.faults = faults

    def now(self) -> int:
        """Wall time in whole seconds (MsgTime, JoinTime, CreateTime)."""
        return int(self.config.clock())

    def emit(self, command: str, body: JSON, ctx: CallContext) -> None:
        """Fire an After-callback in the background, stamped with EventTime in milliseconds."""
        stamped = {**body, "EventTime": int(self.config.clock() * 1000)}
        self.callbacks.fire_after(command, stamped, client_ip=ctx.client_ip, platform=ctx.platform)

    async def drain(self) -> None:
        """Wait for every callback in flight (tests call this before reading the delivery log)."""
        await self.callbacks.drain()

    async def aclose(self) -> None:
        await self.callbacks.aclose()

    async def handle_rest(
        self, service: str, command: str, query: Mapping[str, str], raw_body: bytes, client_ip: str
    ) -> RestAnswer:
        """Answer one ``POST /v4/<service>/<command>`` call."""
        await self.faults.delay()
        request_id = uuid.uuid4().hex
        try:
            ctx, handler = self._authorise(service, command, query, client_ip)
            forced = self.faults.next_error()
            if forced is not None:
                if forced.startswith("http:"):  # e.g. "http:502": a gateway error, not an envelope
                    return RestAnswer(int(forced[5:]), "Bad Gateway")
                raise TimError(int(forced), "injected fault")
            if not self._limiter.allow(command, self.config.rate_limit_for(command), self.config.monotonic()):
                raise TimError(API_RATE, "REST API call frequency over limit")
            body = self._parse(raw_body)
            answer = await handler(self, ctx, body)
        except TimError as exc:
            log.debug("%s/%s -> %d %s", service, command, exc.code, exc.info)
            answer = fail(exc.code, exc.info)
        except Exception:  # an emulator bug must still look like Tencent's internal error
            log.exception("emulator failure in %s/%s", service, command)
            answer = fail(INTERNAL, "internal server error")
        return RestAnswer(200, {**answer, "RequestId": request_id})

    def _authorise(
        self, service: str, command: str, query: Mapping[str, str], client_ip: str
    ) -> tuple[CallContext, Handler]:
        raw_appid = query.get("sdkappid", "")
        if not raw_appid.isdigit():
            raise TimError(SDKAPPID_INVALID, "sdkappid is missing or not a number")
        if int(raw_appid) != self.config.sdkappid:
            # An SDKAppID this data centre does not know: 70020 "SDKAppID not found" (the code
            # Tencent uses for this exact case is unverified).
            raise TimError(SDKAPPID_NOT_FOUND, "SDKAppID not found; check it matches the data centre")
        identifier, usersig = query.get("identifier", ""), query.get("usersig", "")
        if not identifier or not usersig:
            raise TimError(URL_ACCOUNT, "identifier and usersig are required in the URL")
        try:
            verify_usersig(
                usersig, int(raw_appid), self.config.secret_key, identifier, now=self.config.clock()
            )
        except UserSigError as exc:
            raise TimError(exc.code, exc.reason) from None
        handler = COMMANDS.get((service, command))
        if handler is None:
            raise TimError(BAD_COMMAND, f"unknown command {service}/{command}")
        if identifier != self.config.admin_identifier:
            # Account APIs answer 70403, the rest 60010 (docs/tencent-im.md, "REST basics").
            code = ACCOUNT_NEEDS_ADMIN if service == "im_open_login_svc" else NEEDS_ADMIN
            raise TimError(code, "request requires App admin permission")
        return CallContext(identifier, client_ip, "RESTAPI", is_admin=True), handler

    @staticmethod
    def _parse(raw_body: bytes) -> JSON:
        try:
            body = json.loads(raw_body or b"{}")
        except ValueError:
            raise TimError(JSON_PARSE, "HTTP request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise TimError(JSON_PARSE, "HTTP request body must be a JSON object")
        return body
