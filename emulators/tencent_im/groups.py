"""``group_open_http_svc`` group lifecycle: create_group and destroy_group.

The rules are the documented ones (docs/tencent-im.md, "Groups", "Limits"): custom GroupId
rules, Name ≤ 30 bytes, accounts imported first, no MemberList for AVChatRoom, 10021 vs 10025 for
a taken ID, and a dismissed group answering 10010 from then on.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from emulators.tencent_im import validation as v
from emulators.tencent_im.context import CallContext, Handler
from emulators.tencent_im.errors import (
    ACCOUNT_MISSING,
    CALLBACK_REJECTED,
    GROUP_FULL,
    GROUP_GONE,
    GROUP_ID_OWNED,
    GROUP_ID_TAKEN,
    INVALID_PARAM,
    NO_PERMISSION,
    TimError,
    ok,
)
from emulators.tencent_im.state import Group, Member

if TYPE_CHECKING:
    from emulators.tencent_im.emulator import TencentEmulator

JSON = dict[str, Any]
_APP_KEY = re.compile(r"[A-Za-z0-9_]{1,16}")
APPLY_OPTIONS = frozenset({"FreeAccess", "NeedPermission", "DisableApply"})


def member_list(accounts: list[str]) -> list[JSON]:
    return [{"Member_Account": a} for a in accounts]


def require_group(emu: TencentEmulator, body: JSON) -> Group:
    """The live group named by ``GroupId``, else 10010 (missing or dismissed)."""
    group_id = v.text(body, "GroupId", required=True)
    group = emu.state.live_group(group_id)
    if group is None:
        raise TimError(GROUP_GONE, "group does not exist or has been dismissed")
    return group


def app_defined_data(body: JSON) -> dict[str, str]:
    """``AppDefinedData`` as a dict, checked against the documented key/value limits (10004)."""
    data: dict[str, str] = {}
    for item in v.array(body, "AppDefinedData", required=False, max_len=10):
        key, value = (item.get("Key"), item.get("Value")) if isinstance(item, dict) else (None, None)
        if not isinstance(key, str) or not _APP_KEY.fullmatch(key) or not isinstance(value, str):
            raise TimError(INVALID_PARAM, "AppDefinedData entries need Key [A-Za-z0-9_]{1,16} and a Value")
        if len(value.encode()) > 512:
            raise TimError(INVALID_PARAM, "AppDefinedData values are at most 512 bytes")
        data[key] = value
    return data


async def create_group(emu: TencentEmulator, ctx: CallContext, body: JSON) -> JSON:
    group_type = v.text(body, "Type", required=True)
    if group_type not in v.GROUP_TYPES:
        raise TimError(INVALID_PARAM, f"Type must be one of {sorted(v.GROUP_TYPES)}")
    name = v.text(body, "Name", required=True, max_bytes=30)
    introduction = v.text(body, "Introduction", max_bytes=240)
    notification = v.text(body, "Notification", max_bytes=300)
    face_url = v.text(body, "FaceUrl", max_bytes=100)
    apply_option = v.text(body, "ApplyJoinOption", default="FreeAccess")
    if apply_option not in APPLY_OPTIONS:
        raise TimError(INVALID_PARAM, f"ApplyJoinOption must be one of {sorted(APPLY_OPTIONS)}")
    max_members = v.integer(body, "MaxMemberCount", low=1, default=emu.config.max_group_members)
    group_id = v.text(body, "GroupId") if "GroupId" in body else ""
    if group_id:
        v.check_group_id(group_id)
    owner = v.text(body, "Owner_Account")
    # The initial-member cap is 100 in the current English sample and 500 in older editions (unverified
    # on the page itself); the emulator takes 500.
    members = v.member_accounts(v.array(body, "MemberList", required=False, max_len=500))
    if members and group_type == "AVChatRoom":
        raise TimError(NO_PERMISSION, "AVChatRoom groups take no MemberList at creation")
    app_data = app_defined_data(body)
    for account in [owner, *members]:
        if account and account not in emu.state.accounts:
            raise TimError(ACCOUNT_MISSING, f"account {account} has not been imported")
    everyone = list(dict.fromkeys([a for a in [owner, *members] if a]))
    if max_members is not None and len(everyone) > max_members:
        raise TimError(GROUP_FULL, "more initial members than the group may hold")
    _check_id_free(emu, ctx, group_id)
    reply = await emu.callbacks.call_before(
        "Group.CallbackBeforeCreateGroup",
        {
            "Operator_Account": ctx.operator,
            "Owner_Account": owner,
            "Type": group_type,
            "Name": name,
            "CreatedNum": sum(
                1 for g in emu.state.groups.values() if g.creator == ctx.operator and g.type == group_type
            ),
            "MemberList": member_list(members),
        },
        client_ip=ctx.client_ip,
        platform=ctx.platform,
    )
    if reply is not None and reply.get("ErrorCode") == 1:
        raise TimError(CALLBACK_REJECTED, "rejected by the app's BeforeCreateGroup callback")
    _check_id_free(emu, ctx, group_id)  # the callback awaited; someone may have taken it meanwhile
    now = emu.now()
    group = Group(
        group_id or emu.state.next_auto_id(),
        group_type,
        name,
        owner,
        ctx.operator,
        now,
        apply_join_option=apply_option,
        max_members=max_members or emu.config.max_group_members,
        introduction=introduction,
        notification=notification,
        face_url=face_url,
        app_defined_data=app_data,
    )
    for account in everyone:
        group.members[account] = Member(account, "Owner" if account == owner else "Member", now)
    emu.state.groups[group.group_id] = group
    event: JSON = {
        "GroupId": group.group_id,
        "Operator_Account": ctx.operator,
        "Owner_Account": owner,
        "Type": group_type,
        "Name": name,
        "MemberList": member_list(members),
    }
    if app_data:  # "only if enabled": sent when the group carries custom fields
        event["UserDefinedDataList"] = [{"Key": k, "Value": val} for k, val in app_data.items()]
    emu.emit("Group.CallbackAfterCreateGroup", event, ctx)
    return ok(GroupId=group.group_id)


def _check_id_free(emu: TencentEmulator, ctx: CallContext, group_id: str) -> None:
    existing = emu.state.live_group(group_id) if group_id else None
    if existing is None:
        return  # a dismissed group's ID may be reused (unverified)
    # Unverified: "taken and you are the owner" (10025) also covers an ownerless group this caller created.
    if existing.owner == ctx.operator or (not existing.owner and existing.creator == ctx.operator):
        raise TimError(GROUP_ID_OWNED, "group ID already used, and you are its owner")
    raise TimError(GROUP_ID_TAKEN, "group ID already used by someone else")


def dismiss(emu: TencentEmulator, group: Group, ctx: CallContext) -> None:
    """Dismiss a group (REST or the console) and fire AfterGroupDestroyed with its last members."""
    group.dismissed = True
    group.dismissed_at = emu.now()
    event: JSON = {
        "GroupId": group.group_id,
        "Type": group.type,
        "Owner_Account": group.owner,
        "Name": group.name,
        "MemberList": member_list(list(group.members)),
    }
    emu.emit("Group.CallbackAfterGroupDestroyed", event, ctx)


async def destroy_group(emu: TencentEmulator, ctx: CallContext, body: JSON) -> JSON:
    dismiss(emu, require_group(emu, body), ctx)
    return ok()


COMMANDS: dict[str, Handler] = {
    "create_group": create_group,
    "destroy_group": destroy_group,
}
