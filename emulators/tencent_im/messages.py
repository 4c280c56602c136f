"""``group_open_http_svc`` send_group_msg (docs/tencent-im.md, "Messages").

One send path serves REST (as the App admin, OptPlatform RESTAPI) and the test API's "a user
says X" (as that user, OptPlatform Web), so both fire the same callbacks.

Duplicate ``Random`` (same group, within 5 minutes): the docs say the later message "is
discarded as a duplicate". The emulator answers such a call exactly like a success and returns
the first message's MsgSeq/MsgTime/MsgId, fires no callback and stores nothing, so a retried send
looks to the caller as if the first one had just succeeded.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from emulators.tencent_im import validation as v
from emulators.tencent_im.context import CallContext, Handler
from emulators.tencent_im.errors import (
    ACCOUNT_MISSING,
    CALLBACK_REJECTED,
    INVALID_PARAM,
    MSG_TOO_LONG,
    NO_PERMISSION,
    SEND_RATE,
    TimError,
    ok,
)
from emulators.tencent_im.groups import require_group
from emulators.tencent_im.ratelimit import within_limit
from emulators.tencent_im.state import Group, StoredMessage

if TYPE_CHECKING:
    from emulators.tencent_im.emulator import TencentEmulator

JSON = dict[str, Any]
MSG_TYPES = frozenset(
    {
        "TIMTextElem",
        "TIMFaceElem",
        "TIMLocationElem",
        "TIMCustomElem",
        "TIMImageElem",
        "TIMSoundElem",
        "TIMFileElem",
        "TIMVideoFileElem",
        "TIMRelayElem",
    }
)
PRIORITIES = frozenset({"High", "Normal", "Low", "Lowest"})
MAX_TEXT_BYTES = 8000  # 80002 above 8,000 bytes of text (send_group_msg error table)
MAX_MESSAGE_BYTES = 12 * 1024  # a whole message is at most 12 KB (docs/tencent-im.md, "Limits")


def check_msg_body(elements: list[Any]) -> None:
    """Each element has a known MsgType and a MsgContent object; text and size limits apply."""
    text_bytes = 0
    customs = 0
    for element in elements:
        if not isinstance(element, dict) or element.get("MsgType") not in MSG_TYPES:
            raise TimError(INVALID_PARAM, "MsgBody elements need a known MsgType")
        content = element.get("MsgContent")
        if not isinstance(content, dict):
            raise TimError(INVALID_PARAM, "MsgBody elements need a MsgContent object")
        if element["MsgType"] == "TIMTextElem":
            if not isinstance(content.get("Text"), str):
                raise TimError(INVALID_PARAM, "TIMTextElem needs a Text string")
            text_bytes += len(content["Text"].encode())
        customs += element["MsgType"] == "TIMCustomElem"
    if customs > 1:
        raise TimError(INVALID_PARAM, "at most one TIMCustomElem per message")
    # Both limits are applied: 8,000 bytes of text, 12 KB for the serialised MsgBody. Whether
    # Tencent measures 12 KB on this serialisation is unverified.
    if (
        text_bytes > MAX_TEXT_BYTES
        or len(json.dumps(elements, ensure_ascii=False).encode()) > MAX_MESSAGE_BYTES
    ):
        raise TimError(MSG_TOO_LONG, "message too long")


def _duplicate(emu: TencentEmulator, group: Group, random: int) -> JSON | None:
    """The answer for a Random already used in this group within the window, else ``None``."""
    now = emu.config.clock()
    stale = [r for r, (t, _) in group.recent_randoms.items() if now - t >= emu.config.duplicate_window]
    for r in stale:
        del group.recent_randoms[r]
    seen = group.recent_randoms.get(random)
    if seen is None:
        return None
    first = seen[1]
    if first is None:  # the first one was silently dropped by the app's BeforeSendMsg callback
        return ok(MsgTime=int(seen[0]), MsgSeq=0)
    return ok(MsgTime=first.time, MsgSeq=first.seq, MsgId=first.msg_id)


async def send_message(emu: TencentEmulator, ctx: CallContext, body: JSON) -> JSON:
    """The one send path (REST and test API)."""
    group = require_group(emu, body)
    random = v.integer(body, "Random", required=True, high=2**32 - 1) or 0
    elements = v.array(body, "MsgBody")
    check_msg_body(elements)
    sender = v.text(body, "From_Account") or ctx.operator
    if sender not in emu.state.accounts:
        raise TimError(ACCOUNT_MISSING, f"account {sender} has not been imported")
    if not ctx.is_admin and (sender != ctx.operator or sender not in group.members):
        raise TimError(NO_PERMISSION, "only members may send to this group")
    priority = v.text(body, "MsgPriority", default="Normal")
    if priority not in PRIORITIES:
        raise TimError(INVALID_PARAM, f"MsgPriority must be one of {sorted(PRIORITIES)}")
    online_only = v.integer(body, "OnlineOnlyFlag", high=1, default=0) == 1
    cloud_data = v.text(body, "CloudCustomData")
    forbid = {str(x) for x in v.array(body, "ForbidCallbackControl", required=False)}
    at_info = v.array(body, "GroupAtInfo", required=False)
    if not within_limit(group.send_times, emu.config.group_send_rate_limit, emu.config.monotonic()):
        raise TimError(SEND_RATE, "message sending frequency over limit for this group")
    if (answer := _duplicate(emu, group, random)) is not None:
        return answer
    event: JSON = {
        "GroupId": group.group_id,
        "Type": group.type,
        "From_Account": sender,
        "Operator_Account": ctx.operator,
        "Random": random,
    }
    if "ForbidBeforeSendMsgCallback" not in forbid:
        reply = await emu.callbacks.call_before(
            "Group.CallbackBeforeSendMsg",
            {**event, "MsgBody": elements, "OnlineOnlyFlag": int(online_only), "CloudCustomData": cloud_data},
            client_ip=ctx.client_ip,
            platform=ctx.platform,
        )
        code = None if reply is None else reply.get("ErrorCode")
        if code == 1:
            raise TimError(CALLBACK_REJECTED, "rejected by the app's BeforeSendMsg callback")
        if code == 2:  # silently dropped: the caller sees success, nothing is stored or delivered
            group.recent_randoms[random] = (emu.config.clock(), None)
            return ok(MsgTime=emu.now(), MsgSeq=0)
        if reply is not None and code == 0 and isinstance(reply.get("MsgBody"), list):
            elements = reply["MsgBody"]
        group = require_group(emu, body)  # re-check: the callback awaited
        if (answer := _duplicate(emu, group, random)) is not None:
            return answer
    now = emu.now()
    seq = group.next_seq
    group.next_seq += 1
    # MsgId mimics the docs' sample "144115233406643804-1727580296-4026038328", read (unverified)
    # as <internal id>-<MsgTime>-<Random>.
    msg = StoredMessage(
        seq,
        sender,
        random,
        now,
        elements,
        priority,
        f"{144115200000000000 + seq}-{now}-{random}",
        online_only=online_only,
        cloud_custom_data=cloud_data,
    )
    group.messages.append(msg)
    group.last_msg_time = now
    group.recent_randoms[random] = (emu.config.clock(), msg)
    if "ForbidAfterSendMsgCallback" not in forbid:
        after: JSON = {
            **event,
            "MsgSeq": seq,
            "MsgId": msg.msg_id,
            "MsgTime": now,
            "OnlineOnlyFlag": int(online_only),
            "MsgBody": elements,
            "CloudCustomData": cloud_data,
        }
        if at_info:
            after["GroupAtInfo"] = at_info
        emu.emit("Group.CallbackAfterSendMsg", after, ctx)
    return ok(MsgTime=now, MsgSeq=seq, MsgId=msg.msg_id)


async def send_group_msg(emu: TencentEmulator, ctx: CallContext, body: JSON) -> JSON:
    return await send_message(emu, ctx, body)


COMMANDS: dict[str, Handler] = {
    "send_group_msg": send_group_msg,
}
