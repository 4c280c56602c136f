"""``group_open_http_svc`` read APIs for groups: get_group_info, and the JSON shape of a member.

get_group_info's field names follow the doc's sample (docs/tencent-im.md, "Groups"); each group
has its own ErrorCode (10010 when gone) while the call itself succeeds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulators.tencent_im import validation as v
from emulators.tencent_im.context import CallContext, Handler
from emulators.tencent_im.errors import GROUP_GONE, ok
from emulators.tencent_im.state import Group, Member

if TYPE_CHECKING:
    from emulators.tencent_im.emulator import TencentEmulator

JSON = dict[str, Any]


def group_info(emu: TencentEmulator, group: Group, filters: JSON) -> JSON:
    """One GroupInfo entry, with the field names of the doc's sample."""
    base: JSON = {
        "GroupId": group.group_id,
        "Type": group.type,
        "Name": group.name,
        "Introduction": group.introduction,
        "Notification": group.notification,
        "FaceUrl": group.face_url,
        "Owner_Account": group.owner,
        "CreateTime": group.created_at,
        "InfoSeq": group.info_seq,
        "LastInfoTime": group.last_info_time or group.created_at,
        "LastMsgTime": group.last_msg_time,
        "NextMsgSeq": group.next_seq,
        "MemberNum": len(group.members),
        "MaxMemberNum": group.max_members,
        "ApplyJoinOption": group.apply_join_option,
        # "On"/"Off", set by MuteAllMember. An older Chinese sample names it ShutUpAllMember, the English
        # one MuteAllMember (docs/tencent-im.md, "Where the code differs from the docs").
        "ShutUpAllMember": "On" if group.mute_all else "Off",
    }
    wanted = filters.get("GroupBaseInfoFilter")
    if isinstance(wanted, list):
        base = {k: val for k, val in base.items() if k in wanted or k == "GroupId"}
    info: JSON = {**base, "ErrorCode": 0, "ErrorInfo": ""}
    member_filter = filters.get("MemberInfoFilter")
    if member_filter is None or isinstance(member_filter, list):
        info["MemberList"] = [member_json(m, group, member_filter) for m in group.members.values()]
    app_filter = filters.get("AppDefinedDataFilter_Group")
    if isinstance(app_filter, list):
        info["AppDefinedData"] = [
            {"Key": k, "Value": val} for k, val in group.app_defined_data.items() if k in app_filter
        ]
    return info


def member_json(member: Member, group: Group, wanted: list[Any] | None) -> JSON:
    full: JSON = {
        "Member_Account": member.account,
        "Role": member.role,
        "JoinTime": member.join_time,
        "MsgSeq": group.next_seq - 1,
        "MsgFlag": "AcceptAndNotify",
        "LastSendMsgTime": 0,
        "ShutUpUntil": 0,
        "NameCard": "",
    }
    if wanted is None:
        return full
    # The filter names "Account" for Member_Account (docs/tencent-im.md, "Groups"), which is always
    # returned.
    return {k: val for k, val in full.items() if k == "Member_Account" or k in wanted}


async def get_group_info(emu: TencentEmulator, ctx: CallContext, body: JSON) -> JSON:
    ids = v.account_ids(v.array(body, "GroupIdList", max_len=50))
    raw_filter = body.get("ResponseFilter")
    filters: JSON = raw_filter if isinstance(raw_filter, dict) else {}
    infos: list[JSON] = []
    for group_id in ids:
        group = emu.state.live_group(group_id)
        if group is None:
            infos.append(
                {
                    "GroupId": group_id,
                    "ErrorCode": GROUP_GONE,
                    "ErrorInfo": "group does not exist or has been dismissed",
                }
            )
        else:
            infos.append(group_info(emu, group, filters))
    return ok(GroupInfo=infos)


COMMANDS: dict[str, Handler] = {
    "get_group_info": get_group_info,
}
