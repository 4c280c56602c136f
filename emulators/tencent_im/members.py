"""``group_open_http_svc`` membership: add_group_member, delete_group_member, get_group_member_info,
and a user quitting on their own (test API only; there is no REST call for it).

add_group_member answers per member (Result 0 failed / 1 added / 2 already a member), so the
top-level ErrorCode can be 0 while some members failed: the gateway must look at each Result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulators.tencent_im import validation as v
from emulators.tencent_im.context import CallContext, Handler
from emulators.tencent_im.errors import (
    CALLBACK_REJECTED,
    GROUP_GONE,
    INVALID_PARAM,
    NO_PERMISSION,
    TimError,
    ok,
)
from emulators.tencent_im.group_info import member_json
from emulators.tencent_im.groups import member_list, require_group
from emulators.tencent_im.state import Group, Member

if TYPE_CHECKING:
    from emulators.tencent_im.emulator import TencentEmulator

JSON = dict[str, Any]
FAILED, ADDED, ALREADY = 0, 1, 2


async def add_group_member(emu: TencentEmulator, ctx: CallContext, body: JSON) -> JSON:
    group = require_group(emu, body)
    if group.type == "AVChatRoom":
        raise TimError(NO_PERMISSION, "add_group_member is not supported for AVChatRoom")
    accounts = v.member_accounts(v.array(body, "MemberList", max_len=300))
    v.integer(body, "Silence", low=0, high=1)
    # REST adds trigger BeforeInviteJoinGroup (docs/tencent-im.md, "Members"); the emulator sends it
    # when the event is ticked, and honours ErrorCode 1 and RefusedMembers_Account in the reply.
    reply = await emu.callbacks.call_before(
        "Group.CallbackBeforeInviteJoinGroup",
        {
            "GroupId": group.group_id,
            "Type": group.type,
            "Operator_Account": ctx.operator,
            "DestinationMembers": member_list(accounts),
        },
        client_ip=ctx.client_ip,
        platform=ctx.platform,
    )
    refused: set[str] = set()
    if reply is not None:
        if reply.get("ErrorCode") == 1:
            raise TimError(CALLBACK_REJECTED, "rejected by the app's BeforeInviteJoinGroup callback")
        raw = reply.get("RefusedMembers_Account")
        refused = {str(a) for a in raw} if isinstance(raw, list) else set()
    group = require_group(emu, body)  # it may have been dismissed while the callback ran
    now = emu.now()
    results: list[JSON] = []
    added: list[str] = []
    for account in accounts:
        if account in group.members:
            result = ALREADY
        elif (
            account not in emu.state.accounts or account in refused or len(group.members) >= group.max_members
        ):
            result = FAILED  # not imported (70107), refused, or group full (10014)
        else:
            group.members[account] = Member(account, "Member", now)
            added.append(account)
            result = ADDED
        results.append({"Member_Account": account, "Result": result})
    if added:
        emu.emit(
            "Group.CallbackAfterNewMemberJoin",
            {
                "GroupId": group.group_id,
                "Type": group.type,
                "JoinType": "Invited",
                "Operator_Account": ctx.operator,
                "NewMemberList": member_list(added),
            },
            ctx,
        )
    return ok(MemberList=results)


async def delete_group_member(emu: TencentEmulator, ctx: CallContext, body: JSON) -> JSON:
    group = require_group(emu, body)
    if group.type == "AVChatRoom":
        raise TimError(NO_PERMISSION, "AVChatRoom members cannot be kicked (mute them instead)")
    # The doc allows 100 per call (the old CN doc 500); the emulator still accepts 500, looser than the
    # doc (docs/tencent-im.md, "Where the code differs from the docs").
    accounts = v.account_ids(v.array(body, "MemberToDel_Account", max_len=500))
    v.integer(body, "Silence", low=0, high=1)
    v.text(body, "Reason")
    if group.owner and group.owner in accounts:
        # Unverified: no doc names the code for "cannot remove the owner"; 10004 is the closest.
        raise TimError(INVALID_PARAM, "the group owner cannot be removed")
    # Accounts that are not members are skipped silently and the call still succeeds, as documented.
    removed = [a for a in dict.fromkeys(accounts) if group.members.pop(a, None) is not None]
    if removed:
        emit_exit(emu, group, removed, "Kicked", ctx)
    return ok()


def emit_exit(
    emu: TencentEmulator, group: Group, accounts: list[str], exit_type: str, ctx: CallContext
) -> None:
    emu.emit(
        "Group.CallbackAfterMemberExit",
        {
            "GroupId": group.group_id,
            "Type": group.type,
            "ExitType": exit_type,
            "Operator_Account": ctx.operator,
            "ExitMemberList": member_list(accounts),
        },
        ctx,
    )


def quit_group(emu: TencentEmulator, group_id: str, account: str, ctx: CallContext) -> None:
    """The user leaves on their own (ExitType Quit), as an app SDK call would."""
    group = emu.state.live_group(group_id)
    if group is None:
        raise TimError(GROUP_GONE, "group does not exist or has been dismissed")
    if group.members.pop(account, None) is None:
        raise TimError(NO_PERMISSION, f"{account} is not a member of the group")
    if group.owner == account:
        group.owner = ""  # a Private (Work) group's owner may quit; the group is then ownerless
    emit_exit(emu, group, [account], "Quit", ctx)


async def get_group_member_info(emu: TencentEmulator, ctx: CallContext, body: JSON) -> JSON:
    """Body {GroupId, Limit?, Offset?, MemberInfoFilter?, MemberRoleFilter?} → MemberNum plus a page
    of MemberList (docs/tencent-im.md, "Members"). The filter names are unverified; the doc caps
    Limit at 200, the emulator at 6000."""
    group = require_group(emu, body)
    if group.type == "AVChatRoom":
        raise TimError(NO_PERMISSION, "member lists of AVChatRoom groups are not available here")
    members = list(group.members.values())
    roles = body.get("MemberRoleFilter")
    if isinstance(roles, list):
        members = [m for m in members if m.role in roles]
    offset = v.integer(body, "Offset", default=0) or 0
    limit = v.integer(body, "Limit", low=0, high=6000, default=None)
    page = members[offset:] if limit is None else members[offset : offset + limit]
    wanted = body.get("MemberInfoFilter")
    fields = wanted if isinstance(wanted, list) else None
    return ok(MemberNum=len(group.members), MemberList=[member_json(m, group, fields) for m in page])


COMMANDS: dict[str, Handler] = {
    "add_group_member": add_group_member,
    "delete_group_member": delete_group_member,
    "get_group_member_info": get_group_member_info,
}
