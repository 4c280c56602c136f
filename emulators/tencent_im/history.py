"""``group_open_http_svc`` group_msg_get_simple: history pull, paged backwards.

The gateway uses it to fill transcript gaps left by lost After-callbacks, so paging, ordering,
IsFinished and "dismissed group = no history" (10010) matter (docs/tencent-im.md, "Messages").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulators.tencent_im import validation as v
from emulators.tencent_im.context import CallContext, Handler
from emulators.tencent_im.errors import NO_PERMISSION, TimError, ok
from emulators.tencent_im.groups import require_group
from emulators.tencent_im.state import StoredMessage

if TYPE_CHECKING:
    from emulators.tencent_im.emulator import TencentEmulator

JSON = dict[str, Any]


def history_entry(msg: StoredMessage) -> JSON:
    # Online-only messages use a seq but are not stored, so they read back as placeholders
    # (IsPlaceMsg 1): unverified, and the SEQ doc says only roaming-stored messages get a seq
    # (docs/tencent-im.md, "Where the code differs from the docs"). Recalled ones read back as
    # IsPlaceMsg 2 (documented); that their MsgBody is empty as well is unverified.
    place = 2 if msg.recalled else 1 if msg.online_only else 0
    return {
        "From_Account": msg.from_account,
        "IsPlaceMsg": place,
        "MsgBody": [] if place else msg.body,
        "MsgPriority": msg.priority,
        "MsgRandom": msg.random,
        "MsgSeq": msg.seq,
        "MsgTimeStamp": msg.time,
    }


async def group_msg_get_simple(emu: TencentEmulator, ctx: CallContext, body: JSON) -> JSON:
    """Up to ReqMsgNumber (≤ 20) messages with seq ≤ ReqMsgSeq (default newest), newest first.

    Newest first, as in the doc sample (the order is not stated in words). IsFinished is 1, or 2
    when messages in the requested range are past the retention period; the emulator never
    truncates by size (0).
    """
    group = require_group(emu, body)
    if group.type == "AVChatRoom":
        raise TimError(NO_PERMISSION, "AVChatRoom groups keep no history")
    count = v.integer(body, "ReqMsgNumber", required=True, low=1, high=20) or 1
    top = v.integer(body, "ReqMsgSeq", low=0, default=None)
    candidates = [m for m in reversed(group.messages) if top is None or m.seq <= top][:count]
    oldest_kept = emu.config.clock() - emu.config.history_retention
    kept = [m for m in candidates if m.time >= oldest_kept]
    return ok(
        GroupId=group.group_id,
        IsFinished=1 if len(kept) == len(candidates) else 2,
        RspMsgList=[history_entry(m) for m in kept],
    )


COMMANDS: dict[str, Handler] = {
    "group_msg_get_simple": group_msg_get_simple,
}
