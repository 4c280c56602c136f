"""Test and demo controls under ``/_emulator/...`` (JSON), standing in for the console and for end users.

What a human would do in the Tencent console (dismiss a group, change the callback URL) or in
a chat app (say something, leave a group) is done here, through the same code paths as the REST
API so the same callbacks fire (with ``OptPlatform`` ``Web``).

Routes (JSON in and out; failures are the Tencent envelope with HTTP 400, unknown group 404)::

    GET    /_emulator/accounts                      list accounts
    POST   /_emulator/accounts                      {"UserID", "Nick"?, "FaceUrl"?} import directly
    POST   /_emulator/usersig                       {"UserID", "expire"?} -> {"UserSig"} (an end user's sig)
    GET    /_emulator/groups                        list groups (with Dismissed)
    GET    /_emulator/groups/{id}                   group info + members + Messages + Dismissed +
                                                     JoinApplications
    POST   /_emulator/groups/{id}/messages          {"from", "text"} or {"from", "MsgBody", "Random"?,
                                                     "platform"? (default "Web"), "CloudCustomData"?, ...}
    POST   /_emulator/groups/{id}/quit              {"member"}: AfterMemberExit, ExitType Quit
    POST   /_emulator/groups/{id}/apply             {"user"}: joinGroup -> {"Result": "Joined"|"Pending"}
                                                     (BeforeApplyJoinGroup; see join_apply)
    POST   /_emulator/groups/{id}/destroy           dismiss "from the console" (also DELETE /groups/{id})
    GET|PUT /_emulator/faults                       the emulators.faults.Faults fields
    GET|DELETE /_emulator/callbacks[?command=]      callback delivery log / clear it
    GET|PUT /_emulator/callback-config              {"url", "token", "retry_after_callbacks", "commands"}
    POST   /_emulator/drain                         wait for in-flight callbacks
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulators.tencent_im.accounts import import_one
from emulators.tencent_im.context import CallContext
from emulators.tencent_im.control_console import CONTROL_ROUTES, emulator_of, read_json, with_errors
from emulators.tencent_im.emulator import TencentEmulator
from emulators.tencent_im.errors import GROUP_GONE, INVALID_PARAM, TimError, fail, ok
from emulators.tencent_im.group_info import group_info
from emulators.tencent_im.groups import dismiss
from emulators.tencent_im.history import history_entry
from emulators.tencent_im.join_apply import apply_to_join
from emulators.tencent_im.members import quit_group
from emulators.tencent_im.messages import send_message
from emulators.tencent_im.usersig import generate_usersig

JSON = dict[str, Any]


def _user_ctx(emu: TencentEmulator, request: Request, account: str, platform: str = "Web") -> CallContext:
    client_ip = request.client.host if request.client else "127.0.0.1"
    return CallContext(account, client_ip, platform, is_admin=account == emu.config.admin_identifier)


async def list_accounts(request: Request) -> Response:
    accounts = emulator_of(request).state.accounts.values()
    return JSONResponse(
        {"accounts": [{"UserID": a.user_id, "Nick": a.nick, "FaceUrl": a.face_url} for a in accounts]}
    )


async def import_account(request: Request) -> Response:
    """Create an account directly, e.g. an end user who signed up through the app SDK."""
    import_one(emulator_of(request), await read_json(request))
    return JSONResponse(ok())


async def make_usersig(request: Request) -> Response:
    """A UserSig for any account, as the app's own backend would issue to an end user."""
    emu, body = emulator_of(request), await read_json(request)
    user_id, expire = body.get("UserID"), body.get("expire", 86400)
    if not isinstance(user_id, str) or not isinstance(expire, int):
        raise TimError(INVALID_PARAM, "UserID (string) and expire (seconds) are needed")
    return JSONResponse(
        {"UserSig": generate_usersig(emu.config.sdkappid, emu.config.secret_key, user_id, expire)}
    )


async def list_groups(request: Request) -> Response:
    groups = emulator_of(request).state.groups.values()
    return JSONResponse(
        {
            "groups": [
                {
                    "GroupId": g.group_id,
                    "Type": g.type,
                    "Name": g.name,
                    "Owner_Account": g.owner,
                    "MemberNum": len(g.members),
                    "NextMsgSeq": g.next_seq,
                    "Dismissed": g.dismissed,
                }
                for g in groups
            ]
        }
    )


async def show_group(request: Request) -> Response:
    emu = emulator_of(request)
    group = emu.state.groups.get(request.path_params["group_id"])
    if group is None:
        return JSONResponse(fail(GROUP_GONE, "no such group"), status_code=404)
    detail = group_info(emu, group, {})
    detail.update(
        Dismissed=group.dismissed,
        DismissedAt=group.dismissed_at,
        JoinApplications=sorted(group.join_applications),  # Public-group applications awaiting approval
        Messages=[
            {
                **history_entry(m),
                "MsgId": m.msg_id,
                "CloudCustomData": m.cloud_custom_data,
                "OnlineOnlyFlag": int(m.online_only),
            }
            for m in group.messages
        ],
    )
    return JSONResponse(detail)


async def post_message(request: Request) -> Response:
    """``{"from": "u1", "text": "hi"}`` or ``{"from": "u1", "MsgBody": [...]}``: a user says something."""
    emu, body = emulator_of(request), await read_json(request)
    sender = body.get("from")
    if not isinstance(sender, str) or not sender:
        raise TimError(INVALID_PARAM, "from (the sending account) is required")
    msg_body = body.get("MsgBody")
    if msg_body is None:
        msg_body = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": body.get("text")}}]
    request_body: JSON = {
        "GroupId": request.path_params["group_id"],
        "From_Account": sender,
        "MsgBody": msg_body,
        "Random": body.get("Random", secrets.randbelow(2**32)),
    }
    for key in ("CloudCustomData", "OnlineOnlyFlag", "MsgPriority", "GroupAtInfo", "ForbidCallbackControl"):
        if key in body:
            request_body[key] = body[key]
    platform = body.get("platform", "Web")
    ctx = _user_ctx(emu, request, sender, platform if isinstance(platform, str) else "Web")
    return JSONResponse(await send_message(emu, ctx, request_body))


async def quit_member(request: Request) -> Response:
    """``{"member": "u1"}``: the user leaves the group (AfterMemberExit with ExitType Quit)."""
    emu, body = emulator_of(request), await read_json(request)
    member = body.get("member")
    if not isinstance(member, str):
        raise TimError(INVALID_PARAM, "member is required")
    quit_group(emu, request.path_params["group_id"], member, _user_ctx(emu, request, member))
    return JSONResponse(ok())


async def apply(request: Request) -> Response:
    """``{"user": "u1"}``: the user applies to join, as the SDK's joinGroup would."""
    emu, body = emulator_of(request), await read_json(request)
    user = body.get("user")
    if not isinstance(user, str) or not user:
        raise TimError(INVALID_PARAM, "user (the applying account) is required")
    result = await apply_to_join(emu, request.path_params["group_id"], user, _user_ctx(emu, request, user))
    return JSONResponse(ok(Result=result))


async def destroy(request: Request) -> Response:
    """Dismiss the group "from the console"."""
    emu = emulator_of(request)
    group = emu.state.live_group(request.path_params["group_id"])
    if group is None:
        return JSONResponse(fail(GROUP_GONE, "group does not exist or has been dismissed"), status_code=404)
    dismiss(emu, group, _user_ctx(emu, request, emu.config.admin_identifier))
    return JSONResponse(ok())


_G = "/_emulator/groups/{group_id:path}"
ROUTES = [
    Route("/_emulator/accounts", with_errors(list_accounts), methods=["GET"]),
    Route("/_emulator/accounts", with_errors(import_account), methods=["POST"]),
    Route("/_emulator/usersig", with_errors(make_usersig), methods=["POST"]),
    Route("/_emulator/groups", with_errors(list_groups), methods=["GET"]),
    Route(_G + "/messages", with_errors(post_message), methods=["POST"]),
    Route(_G + "/quit", with_errors(quit_member), methods=["POST"]),
    Route(_G + "/apply", with_errors(apply), methods=["POST"]),
    Route(_G + "/destroy", with_errors(destroy), methods=["POST"]),
    Route(_G, with_errors(show_group), methods=["GET"]),
    Route(_G, with_errors(destroy), methods=["DELETE"]),
    *CONTROL_ROUTES,
]
