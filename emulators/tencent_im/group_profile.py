"""``group_open_http_svc`` modify_group_base_info, and the AfterGroupInfoChanged callback it fires.

Why it exists: an app that renames a support room or edits its notice from the console or its
own backend produces ``Group.CallbackAfterGroupInfoChanged``, and the gateway must survive that
event, so the emulator must be able to emit it.

Docs search (cloud.tencent.com/document/product/269 "修改群基础资料", trtc.io/document/34962,
2024): body GroupId (required) plus optional Name, Introduction, Notification, FaceUrl,
MaxMemberNum, ApplyJoinOption, MuteAllMember ("On"/"Off"), InviteJoinOption, From_Account
("modify as this account") and AppDefinedData [{Key, Value}]; all five group types; 200 calls/s.
Byte limits (Name 30, Introduction 240, Notification 300, FaceUrl 100) are those of
docs/tencent-im.md, "Limits", and the Web SDK's updateGroupProfile table. The callback carries
GroupId, Type, Operator_Account and only the changed profile fields ("Callback payloads").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulators.tencent_im import validation as v
from emulators.tencent_im.context import CallContext, Handler
from emulators.tencent_im.errors import ACCOUNT_MISSING, INVALID_PARAM, TimError, ok
from emulators.tencent_im.groups import APPLY_OPTIONS, app_defined_data, require_group
from emulators.tencent_im.state import Group

if TYPE_CHECKING:
    from emulators.tencent_im.emulator import TencentEmulator

JSON = dict[str, Any]
# Request field -> (Group attribute, UTF-8 byte limit). These four also appear in the callback.
TEXT_FIELDS: dict[str, tuple[str, int]] = {
    "Name": ("name", 30),
    "Introduction": ("introduction", 240),
    "Notification": ("notification", 300),
    "FaceUrl": ("face_url", 100),
}
MUTE_VALUES = {"On": True, "Off": False}
# Unverified: no doc found for InviteJoinOption's values; these mirror ApplyJoinOption plus the Web SDK's
# INVITE_OPTIONS_DISABLE_INVITE. The emulator checks the value and otherwise ignores it.
INVITE_OPTIONS = frozenset({"FreeAccess", "NeedPermission", "DisableInvite"})
MAX_APP_KEYS = 10


def _text_changes(body: JSON) -> dict[str, str]:
    """The profile strings present in the request, each within its byte limit (else 10004)."""
    changes: dict[str, str] = {}
    for key, (_, limit) in TEXT_FIELDS.items():
        if key in body:
            changes[key] = v.text(body, key, max_bytes=limit)
    # Unverified: a group must keep a name, so an empty Name is refused like a missing one at creation.
    if changes.get("Name") == "":
        raise TimError(INVALID_PARAM, "Name must not be empty")
    return changes


def _operator(emu: TencentEmulator, ctx: CallContext, body: JSON) -> CallContext:
    """``From_Account`` makes the change "as that account" (it becomes Operator_Account)."""
    account = v.text(body, "From_Account")
    if not account:
        return ctx
    if account not in emu.state.accounts:
        # Unverified: the doc lists From_Account without its error; 10019 "account does not exist" is
        # closest.
        raise TimError(ACCOUNT_MISSING, f"account {account} has not been imported")
    return CallContext(account, ctx.client_ip, ctx.platform, is_admin=ctx.is_admin)


def _merge_app_data(group: Group, updates: dict[str, str]) -> None:
    # Unverified: an empty Value deletes the key (as the SDKs' setGroupInfo customInfo does).
    merged = {**group.app_defined_data, **updates}
    merged = {k: val for k, val in merged.items() if val != ""}
    if len(merged) > MAX_APP_KEYS:
        raise TimError(INVALID_PARAM, f"a group holds at most {MAX_APP_KEYS} custom fields")
    group.app_defined_data = merged


async def modify_group_base_info(emu: TencentEmulator, ctx: CallContext, body: JSON) -> JSON:
    """Validate everything first, then apply: a refused request changes nothing."""
    group = require_group(emu, body)
    texts = _text_changes(body)
    max_members = v.integer(body, "MaxMemberNum", low=1, default=None)
    if max_members is not None and max_members < len(group.members):
        # Unverified: shrinking below the current member count is refused as an invalid parameter.
        raise TimError(INVALID_PARAM, "MaxMemberNum is below the current member count")
    apply_option = v.text(body, "ApplyJoinOption") if "ApplyJoinOption" in body else None
    if apply_option is not None and apply_option not in APPLY_OPTIONS:
        raise TimError(INVALID_PARAM, f"ApplyJoinOption must be one of {sorted(APPLY_OPTIONS)}")
    mute = v.text(body, "MuteAllMember") if "MuteAllMember" in body else None
    if mute is not None and mute not in MUTE_VALUES:
        raise TimError(INVALID_PARAM, 'MuteAllMember must be "On" or "Off"')
    invite = v.text(body, "InviteJoinOption") if "InviteJoinOption" in body else None
    if invite is not None and invite not in INVITE_OPTIONS:
        raise TimError(INVALID_PARAM, f"InviteJoinOption must be one of {sorted(INVITE_OPTIONS)}")
    app_data = app_defined_data(body)
    operator = _operator(emu, ctx, body)
    if app_data:
        _merge_app_data(group, app_data)
    for key, value in texts.items():
        setattr(group, TEXT_FIELDS[key][0], value)
    if max_members is not None:
        group.max_members = max_members
    if apply_option is not None:
        group.apply_join_option = apply_option
    if mute is not None:
        group.mute_all = MUTE_VALUES[mute]
    group.info_seq += 1
    group.last_info_time = emu.now()
    # The callback fires only when Name, Introduction, Notification, FaceUrl or custom fields are in
    # the request: the doc says other profile fields never fire it. That it also lists a field set
    # to its old value is unverified.
    event: JSON = dict(texts)
    if app_data:
        event["UserDefinedDataList"] = [{"Key": k, "Value": val} for k, val in app_data.items()]
    if event:
        emu.emit(
            "Group.CallbackAfterGroupInfoChanged",
            {"GroupId": group.group_id, "Type": group.type, "Operator_Account": operator.operator, **event},
            operator,
        )
    return ok()


COMMANDS: dict[str, Handler] = {
    "modify_group_base_info": modify_group_base_info,
}
