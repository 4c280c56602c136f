"""The emulator's settings: one SDKAppID in one data centre, as the console would configure it.

Kept apart from the app so the CLI (``tim-gateway emulate tencent``) and tests build the same
object, either explicitly or from the gateway's own environment variable names.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from emulators.faults import Faults

AFTER_CALLBACKS: frozenset[str] = frozenset(
    {
        "Group.CallbackAfterCreateGroup",
        "Group.CallbackAfterNewMemberJoin",
        "Group.CallbackAfterMemberExit",
        "Group.CallbackAfterSendMsg",
        "Group.CallbackAfterGroupDestroyed",
    }
)
# After-events the gateway does not consume: emitted only when ticked (opt-in, like Before-events).
OTHER_AFTER_CALLBACKS: frozenset[str] = frozenset(
    {
        "Group.CallbackAfterGroupInfoChanged",
        "Group.CallbackAfterRecallMsg",
    }
)
BEFORE_CALLBACKS: frozenset[str] = frozenset(
    {
        "Group.CallbackBeforeApplyJoinGroup",
        "Group.CallbackBeforeCreateGroup",
        "Group.CallbackBeforeInviteJoinGroup",
        "Group.CallbackBeforeSendMsg",
    }
)
ALL_CALLBACKS: frozenset[str] = AFTER_CALLBACKS | OTHER_AFTER_CALLBACKS | BEFORE_CALLBACKS


@dataclass
class TencentEmulatorConfig:
    """What the console would hold for one app, plus the emulator's own knobs.

    ``callback_commands`` are the events ticked in the console. By default only the After-events
    the gateway consumes are ticked; Before-events are opt-in because each one makes the API call
    wait for the callback (up to ``callback_timeout``), exactly like the real service.
    ``clock`` is wall time (UserSig expiry, MsgTime, RequestTime, the 5-minute Random window);
    ``monotonic`` drives the per-second rate limits. Both are injectable for tests.
    """

    sdkappid: int
    secret_key: str
    admin_identifier: str = "administrator"
    callback_url: str | None = None
    callback_token: str | None = None
    callback_commands: frozenset[str] = AFTER_CALLBACKS
    callback_timeout: float = 2.0
    retry_after_callbacks: bool = False
    callback_max_retries: int = 2
    callback_retry_delay: float = 0.5
    api_rate_limit: int = 200
    api_rate_limits: Mapping[str, int] = field(default_factory=lambda: {"multiaccount_import": 100})
    group_send_rate_limit: int = 40
    duplicate_window: float = 300.0
    history_retention: float = 7 * 86400.0
    max_group_members: int = 200
    max_accounts: int | None = None
    faults: Faults = field(default_factory=Faults)
    clock: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic

    @classmethod
    def from_env(cls, environ: Mapping[str, str], callback_url: str | None) -> TencentEmulatorConfig:
        """Build from the gateway's names (``TIM_SDKAPPID``, ``TIM_SECRET_KEY``, ...).

        The emulator reads the same variables as the gateway so ``demo`` needs one environment.
        Raises :class:`ValueError` naming the variable when one is missing or malformed.
        """
        raw_appid = environ.get("TIM_SDKAPPID", "").strip()
        if not raw_appid.isdigit():
            raise ValueError("TIM_SDKAPPID must be set to the numeric SDKAppID")
        key = environ.get("TIM_SECRET_KEY", "")
        if not key:
            raise ValueError("TIM_SECRET_KEY must be set to the app's secret key")
        admin = environ.get("TIM_ADMIN_IDENTIFIER", "").strip() or "administrator"
        token = environ.get("TIM_CALLBACK_TOKEN", "") or None
        return cls(
            sdkappid=int(raw_appid),
            secret_key=key,
            admin_identifier=admin,
            callback_url=callback_url or None,
            callback_token=token,
        )

    def rate_limit_for(self, command: str) -> int:
        """Calls per second allowed for one API (most are 200/s, multiaccount_import 100/s)."""
        return self.api_rate_limits.get(command, self.api_rate_limit)
