"""``group_open_http_svc`` group_msg_recall, and the AfterRecallMsg callback it fires.

Why it exists: when an agent or the app recalls a message, Tencent posts
``Group.CallbackAfterRecallMsg`` and history shows the message as a placeholder (IsPlaceMsg 2);
the gateway has to reconcile both with the transcript it already stored.

Docs search (intl.cloud.tencent.com/document/product/1047/34965, cloud.tencent.com/document/
product/269/12341, 2026): body GroupId + MsgSeqList [{MsgSeq}] (at most 10 per request; optional
TopicId for topic communities, optional Reason in the CN page); the answer is ErrorCode 0 with a
per-message ``RecallRetList: [{MsgSeq, RetCode}]``, RetCode 0 = recalled and e.g. 10030 =
"the message to recall does not exist" (the docs' own sample); messages are recallable at any
age while still within roaming retention. The callback page (cloud.tencent.com/document/product/
269/73141) lists Operator_Account, Type, GroupId, MsgSeqList, TopicId (topic communities only)
and EventTime (an Integer in the field table, quoted in one language's sample).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulators.tencent_im import validation as v
from emulators.tencent_im.context import CallContext, Handler
from emulators.tencent_im.errors import INVALID_PARAM, RECALL_MISSING, TimError, ok
from emulators.tencent_im.groups import require_group
from emulators.tencent_im.state import Group, StoredMessage

if TYPE_CHECKING:
    from emulators.tencent_im.emulator import TencentEmulator

JSON = dict[str, Any]
MAX_RECALL = 10


def _seqs(body: JSON) -> list[int]:
    """``MsgSeqList`` as seq numbers: 1-10 objects, each with an integer MsgSeq ≥ 1 (else 10004)."""
    seqs: list[int] = []
    for item in v.array(body, "MsgSeqList", max_len=MAX_RECALL):
        if not isinstance(item, dict):
            raise TimError(INVALID_PARAM, "MsgSeqList entries are {MsgSeq} objects")
        seqs.append(v.integer(item, "MsgSeq", required=True, low=1) or 0)
    return seqs


def _recallable(emu: TencentEmulator, group: Group, seq: int) -> StoredMessage | None:
    """The stored message with this seq, if it can still be recalled.

    Not stored (online-only), already recalled, or past the roaming retention all answer 10030
    "does not exist" (unverified: the docs give no separate code for them).
    """
    oldest_kept = emu.config.clock() - emu.config.history_retention
    for msg in group.messages:
        if msg.seq == seq:
            stored = not msg.online_only and not msg.recalled and msg.time >= oldest_kept
            return msg if stored else None
    return None


async def group_msg_recall(emu: TencentEmulator, ctx: CallContext, body: JSON) -> JSON:
    """Recall each listed message independently; the call succeeds even if every item fails."""
    group = require_group(emu, body)
    seqs = _seqs(body)
    if "TopicId" in body:
        # Unverified choice: the emulator has no topics, so a TopicId can name nothing that exists: 10004.
        raise TimError(INVALID_PARAM, "TopicId applies only to topic-enabled communities")
    v.text(body, "Reason")
    results: list[JSON] = []
    recalled: list[int] = []
    for seq in seqs:
        msg = _recallable(emu, group, seq)
        if msg is None:
            results.append({"MsgSeq": seq, "RetCode": RECALL_MISSING})
            continue
        msg.recalled = True
        recalled.append(seq)
        results.append({"MsgSeq": seq, "RetCode": 0})
    if recalled:
        # The CN 2025 page also puts each message's MsgId into MsgSeqList; the emulator keeps to
        # the sample's {MsgSeq} items (tests/fixtures/tencent/group-callback-after-recall-msg.json).
        emu.emit(
            "Group.CallbackAfterRecallMsg",
            {
                "Operator_Account": ctx.operator,
                "Type": group.type,
                "GroupId": group.group_id,
                "MsgSeqList": [{"MsgSeq": seq} for seq in recalled],
            },
            ctx,
        )
    return ok(RecallRetList=results)


COMMANDS: dict[str, Handler] = {
    "group_msg_recall": group_msg_recall,
}
