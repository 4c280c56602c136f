"""A user applying to join a group, and the BeforeApplyJoinGroup callback it fires.

Why it exists: applying is a client-SDK call (``joinGroup``) with no REST equivalent, yet the
app's ``Group.CallbackBeforeApplyJoinGroup`` is the documented way to keep strangers out of
Public and Meeting groups; the test API plays the user's side so both can be tested.

What the docs say (tencentcloud.com/zh/document/product/1047/34370, the callback page): the body
is GroupId, Type, Requestor_Account (newer pages add EventTime); reply ErrorCode 0 lets the
application continue ("if joining needs admin approval, it still waits for approval"), 1
refuses it (the user gets 10016), and an ErrorCode in [10100, 10200] refuses it with that code
and ErrorInfo passed on to the client. Group types (docs/tencent-im.md, "Groups"; Web SDK
updateGroupProfile: "Work groups forbid applying; Meeting and AVChatRoom groups are free to join"):

* Private (Work): refused before any callback. Unverified: no doc names the code for "this group
  type takes no applications"; the emulator answers 10007 "insufficient permission", the code the
  error table illustrates with a Work-group permission case. Newer SDKs let a Work group open
  applications (V2TIMGroupAddOpt); the emulator keeps the classic rule.
* ChatRoom (Meeting): after the callback allows it, the user joins at once and AfterNewMemberJoin
  fires with JoinType "Apply" and the applicant as Operator_Account (unverified).
* Public: after the callback allows it, the application waits for approval. Kept minimal: it is
  recorded in ``Group.join_applications`` and nothing approves it; ApplyJoinOption is not
  consulted (unverified: Tencent's per-group option may make some Public groups free to join).
* AVChatRoom and Community are not played (10004 from the test API): their join rules differ
  and the gateway never uses them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulators.tencent_im.context import CallContext
from emulators.tencent_im.errors import (
    ACCOUNT_MISSING,
    ALREADY_MEMBER,
    CALLBACK_REJECTED,
    GROUP_FULL,
    GROUP_GONE,
    INVALID_PARAM,
    NO_PERMISSION,
    TimError,
)
from emulators.tencent_im.groups import member_list
from emulators.tencent_im.state import Group, Member

if TYPE_CHECKING:
    from emulators.tencent_im.emulator import TencentEmulator

JSON = dict[str, Any]
APP_ERROR_RANGE = range(10100, 10201)  # app-chosen refusal codes passed on to the client
JOINED, PENDING = "Joined", "Pending"


def _open_group(emu: TencentEmulator, group_id: str, account: str) -> Group:
    """The live group the account may apply to, or the error the applicant would get."""
    group = emu.state.live_group(group_id)
    if group is None:
        raise TimError(GROUP_GONE, "group does not exist or has been dismissed")
    if account in group.members:
        # Unverified: 10013 is documented for invitees who are already members; applicants get the same.
        raise TimError(ALREADY_MEMBER, f"{account} is already a member of the group")
    if group.type == "Private":
        raise TimError(NO_PERMISSION, "Private (Work) groups do not accept applications to join")
    if group.type not in ("Public", "ChatRoom"):
        raise TimError(INVALID_PARAM, f"applying to {group.type} groups is not emulated")
    if group.type == "ChatRoom" and len(group.members) >= group.max_members:
        raise TimError(GROUP_FULL, "the group is full")
    return group


def _check_reply(reply: JSON | None) -> None:
    """Raise the refusal the app's reply asks for; ``None`` (no or failed callback) allows."""
    code = None if reply is None else reply.get("ErrorCode")
    if code == 1:
        raise TimError(CALLBACK_REJECTED, "rejected by the app's BeforeApplyJoinGroup callback")
    if isinstance(code, int) and not isinstance(code, bool) and code in APP_ERROR_RANGE:
        info = reply.get("ErrorInfo") if reply is not None else None
        raise TimError(code, info if isinstance(info, str) else "refused by the app")


async def apply_to_join(emu: TencentEmulator, group_id: str, account: str, ctx: CallContext) -> str:
    """Play ``joinGroup`` for ``account``; answers ``"Joined"`` or ``"Pending"`` (or raises)."""
    if account not in emu.state.accounts:
        raise TimError(ACCOUNT_MISSING, f"account {account} has not been imported")
    group = _open_group(emu, group_id, account)
    reply = await emu.callbacks.call_before(
        "Group.CallbackBeforeApplyJoinGroup",
        {"GroupId": group.group_id, "Type": group.type, "Requestor_Account": account},
        client_ip=ctx.client_ip,
        platform=ctx.platform,
    )
    _check_reply(reply)
    group = _open_group(emu, group_id, account)  # re-check: the callback awaited
    now = emu.now()
    if group.type == "Public":
        group.join_applications.setdefault(account, now)
        return PENDING
    group.members[account] = Member(account, "Member", now)
    emu.emit(
        "Group.CallbackAfterNewMemberJoin",
        {
            "GroupId": group.group_id,
            "Type": group.type,
            "JoinType": "Apply",
            "Operator_Account": account,
            "NewMemberList": member_list([account]),
        },
        ctx,
    )
    return JOINED
