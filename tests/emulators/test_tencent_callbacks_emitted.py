"""The emulator's third-party callbacks look like the documented samples and travel like the real ones.

Every sample in tests/fixtures/tencent/ the emulator can emit is compared field by field (same
keys, same value types; extra keys only where the docs list newer fields). The query string and
Sign are checked as the gateway will check them, and the delivery rules (2 s timeout, no retry
unless enabled, Before-callback replies, ForbidCallbackControl) are exercised.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulators.faults import Faults
from emulators.tencent_im import TencentEmulator, TencentEmulatorConfig, create_app
from emulators.tencent_im.config import ALL_CALLBACKS
from gateway.clients.tencent_im.client import TencentIMClient
from gateway.clients.tencent_im.errors import TencentIMPermanentError

FIXTURES = Path(__file__).parents[1] / "fixtures" / "tencent"
SDKAPPID = 1400000001
KEY = "secret-key-for-tests"
ADMIN = "administrator"
TOKEN = "xxxxyyyy"
CALLBACK_URL = "http://gateway.test/tencent/callback"
JSON = dict[str, Any]
OK: JSON = json.loads((FIXTURES / "callback-response-ok.json").read_text())

# Fields the docs add in newer payloads (docs/tencent-im.md, "Callback payloads"): allowed beyond a
# sample.
NEWER_FIELDS = {"EventTime"}
NEWER_MESSAGE_FIELDS = {"MsgId", "OnlineOnlyFlag", "CloudCustomData", "EventTime", "GroupAtInfo", "TopicId"}


@dataclass
class Received:
    query: dict[str, str]
    body: JSON


@dataclass
class Receiver:
    """The app's callback endpoint: records each request, answers with ``reply``."""

    received: list[Received] = field(default_factory=list)
    reply: Callable[[JSON], Awaitable[Response]] | None = None

    async def endpoint(self, request: Request) -> Response:
        body = await request.json()
        self.received.append(Received(dict(request.query_params), body))
        if self.reply is not None:
            return await self.reply(body)
        return JSONResponse(OK)

    def bodies(self, command: str) -> list[JSON]:
        return [r.body for r in self.received if r.query["CallbackCommand"] == command]


@dataclass
class World:
    emulator: TencentEmulator
    receiver: Receiver
    client: TencentIMClient
    admin_http: httpx.AsyncClient


@pytest.fixture
async def world() -> AsyncIterator[World]:
    receiver = Receiver()
    gateway_app = Starlette(routes=[Route("/tencent/callback", receiver.endpoint, methods=["POST"])])
    config = TencentEmulatorConfig(
        SDKAPPID,
        KEY,
        ADMIN,
        callback_url=CALLBACK_URL,
        callback_token=TOKEN,
        callback_commands=ALL_CALLBACKS,
        callback_timeout=0.2,
        callback_retry_delay=0.01,
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway_app)) as to_gateway:
        app = create_app(config, http=to_gateway)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tim") as to_tim:
            client = TencentIMClient(SDKAPPID, KEY, ADMIN, "http://tim", http=to_tim)
            emulator: TencentEmulator = app.state.emulator
            yield World(emulator, receiver, client, to_tim)
            await emulator.drain()


def sample(name: str) -> JSON:
    data: JSON = json.loads((FIXTURES / name).read_text())
    return data


def shape_problems(emitted: Any, expected: Any, extras: set[str], path: str = "$") -> list[str]:
    """Differences in keys and value types between an emitted body and a documented sample."""
    if isinstance(expected, dict):
        if not isinstance(emitted, dict):
            return [f"{path}: expected an object"]
        problems = [f"{path}.{k}: missing" for k in expected if k not in emitted]
        problems += [
            f"{path}.{k}: undocumented extra" for k in emitted if k not in expected and k not in extras
        ]
        for key in expected.keys() & emitted.keys():
            problems += shape_problems(emitted[key], expected[key], set(), f"{path}.{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(emitted, list):
            return [f"{path}: expected an array"]
        problems = []
        for i, item in enumerate(emitted):
            if expected:
                problems += shape_problems(item, expected[min(i, len(expected) - 1)], set(), f"{path}[{i}]")
        return problems
    if type(emitted) is not type(expected):
        return [f"{path}: {type(emitted).__name__} where the sample has {type(expected).__name__}"]
    return []


async def group_with_members(world: World, group_id: str = "case-1") -> None:
    for user in ("leckie", "bob", "peter"):
        await world.client.account_import(user)
    await world.client.create_group(group_id, "MyFirstGroup", owner="leckie", members=["bob", "peter"])


# ---- bodies match the samples ----------------------------------------------------------------


@pytest.mark.anyio
async def test_after_create_group_matches_the_sample(world: World) -> None:
    await world.client.call(
        "group_open_http_svc",
        "create_group",
        {"Type": "Public", "Name": "MyFirstGroup", "GroupId": "g", "Owner_Account": ADMIN,
         "AppDefinedData": [{"Key": "UserDefined1", "Value": "hello"}]},
    )  # fmt: skip
    await world.emulator.drain()
    [body] = world.receiver.bodies("Group.CallbackAfterCreateGroup")
    assert shape_problems(body, sample("group-callback-after-create-group.json"), NEWER_FIELDS) == []
    assert (body["GroupId"], body["Operator_Account"], body["Type"]) == ("g", ADMIN, "Public")


@pytest.mark.anyio
async def test_before_create_group_matches_the_sample(world: World) -> None:
    await group_with_members(world)
    [body] = world.receiver.bodies("Group.CallbackBeforeCreateGroup")
    assert shape_problems(body, sample("group-callback-before-create-group.json"), set()) == []


@pytest.mark.anyio
async def test_new_member_join_and_before_invite_match_the_samples(world: World) -> None:
    await group_with_members(world)
    await world.client.account_import("jared")
    await world.client.add_group_members("case-1", ["jared", "bob"])
    await world.emulator.drain()
    [invite] = world.receiver.bodies("Group.CallbackBeforeInviteJoinGroup")
    assert shape_problems(invite, sample("group-callback-before-invite-join-group.json"), set()) == []
    [joined] = world.receiver.bodies("Group.CallbackAfterNewMemberJoin")
    assert shape_problems(joined, sample("group-callback-after-new-member-join.json"), NEWER_FIELDS) == []
    assert joined["JoinType"] == "Invited"
    assert joined["NewMemberList"] == [{"Member_Account": "jared"}]  # bob was already in


@pytest.mark.anyio
async def test_kick_matches_the_member_exit_sample(world: World) -> None:
    await group_with_members(world)
    await world.client.delete_group_members("case-1", ["bob", "peter"])
    await world.emulator.drain()
    [body] = world.receiver.bodies("Group.CallbackAfterMemberExit")
    assert shape_problems(body, sample("group-callback-after-member-exit.json"), NEWER_FIELDS) == []
    assert (body["ExitType"], body["Operator_Account"]) == ("Kicked", ADMIN)


@pytest.mark.anyio
async def test_user_leaving_fires_member_exit_quit_from_their_platform(world: World) -> None:
    await group_with_members(world)
    await world.admin_http.post("/_emulator/groups/case-1/quit", json={"member": "bob"})
    await world.emulator.drain()
    [received] = [
        r for r in world.receiver.received if r.query["CallbackCommand"] == "Group.CallbackAfterMemberExit"
    ]
    assert (received.body["ExitType"], received.body["Operator_Account"]) == ("Quit", "bob")
    assert received.query["OptPlatform"] == "Web"


@pytest.mark.anyio
@pytest.mark.parametrize(
    "name", ["group-callback-after-send-msg.json", "group-callback-after-send-msg-2025.json"]
)
async def test_after_send_msg_matches_the_sample(world: World, name: str) -> None:
    await group_with_members(world)
    await world.client.call(
        "group_open_http_svc",
        "send_group_msg",
        {"GroupId": "case-1", "Random": 123456, "From_Account": "bob", "OnlineOnlyFlag": 1,
         "CloudCustomData": "your cloud custom data",
         "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "red packet"}}],
         "GroupAtInfo": [{"GroupAtAllFlag": 1}, {"GroupAtAllFlag": 0, "GroupAt_Account": "peter"}]},
    )  # fmt: skip
    await world.emulator.drain()
    [body] = world.receiver.bodies("Group.CallbackAfterSendMsg")
    assert shape_problems(body, sample(name), NEWER_MESSAGE_FIELDS) == []
    assert (body["MsgSeq"], body["Random"], body["From_Account"], body["Operator_Account"]) == (
        1,
        123456,
        "bob",
        ADMIN,
    )
    assert abs(body["EventTime"] - time.time() * 1000) < 60_000  # milliseconds
    assert body["MsgId"].endswith(f"-{body['MsgTime']}-123456")


@pytest.mark.anyio
async def test_before_send_msg_matches_the_sample(world: World) -> None:
    await group_with_members(world)
    await world.client.send_group_message("case-1", [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "x"}}])
    [body] = world.receiver.bodies("Group.CallbackBeforeSendMsg")
    assert shape_problems(body, sample("group-callback-before-send-msg.json"), NEWER_MESSAGE_FIELDS) == []


@pytest.mark.anyio
async def test_group_destroyed_matches_the_sample_and_lists_the_last_members(world: World) -> None:
    await group_with_members(world)
    await world.client.destroy_group("case-1")
    await world.emulator.drain()
    [body] = world.receiver.bodies("Group.CallbackAfterGroupDestroyed")
    assert shape_problems(body, sample("group-callback-after-group-destroyed.json"), NEWER_FIELDS) == []
    assert sorted(m["Member_Account"] for m in body["MemberList"]) == ["bob", "leckie", "peter"]


async def public_group_for_applications(world: World, group_type: str = "Public") -> None:
    for user in ("leckie", "jared"):
        await world.client.account_import(user)
    await world.client.create_group("g", "MyFirstGroup", type=group_type, owner="leckie")


async def apply(world: World, user: str = "jared") -> httpx.Response:
    return await world.admin_http.post("/_emulator/groups/g/apply", json={"user": user})


def signed(received: Received, command: str, platform: str) -> bool:
    """The query string carries the documented fields and a Sign the gateway can verify."""
    q = received.query
    return (
        q["SdkAppid"] == str(SDKAPPID)
        and q["CallbackCommand"] == received.body["CallbackCommand"] == command
        and (q["contenttype"], q["OptPlatform"], q["ClientIP"]) == ("json", platform, "127.0.0.1")
        and q["Sign"] == hashlib.sha256((TOKEN + q["RequestTime"]).encode()).hexdigest()
    )


def received_for(world: World, command: str) -> list[Received]:
    return [r for r in world.receiver.received if r.query["CallbackCommand"] == command]


@pytest.mark.anyio
async def test_group_info_changed_matches_the_sample_and_carries_only_what_changed(world: World) -> None:
    await group_with_members(world)
    profile = {"Name": "NewGroupName", "Introduction": "NewIntroduction", "Notification": "NewNotification",
               "FaceUrl": "NewFaceUrl"}  # fmt: skip
    custom = [{"Key": f"UserDefinedKey{i}", "Value": f"UserDefinedValue{i}"} for i in (1, 2, 3)]
    modify = "modify_group_base_info"
    await world.client.call(
        "group_open_http_svc", modify, {"GroupId": "case-1", **profile, "AppDefinedData": custom}
    )
    await world.client.call(
        "group_open_http_svc", modify, {"GroupId": "case-1", "Notification": "Closed at 6"}
    )
    await world.client.call("group_open_http_svc", modify, {"GroupId": "case-1", "MaxMemberNum": 50})
    await world.emulator.drain()
    full, notice_only = received_for(world, "Group.CallbackAfterGroupInfoChanged")  # none for MaxMemberNum
    assert (
        shape_problems(full.body, sample("group-callback-after-group-info-changed.json"), NEWER_FIELDS) == []
    )
    assert {k: full.body[k] for k in profile} == profile
    assert (full.body["UserDefinedDataList"], full.body["Operator_Account"]) == (custom, ADMIN)
    assert set(notice_only.body) == {"CallbackCommand", "GroupId", "Type", "Operator_Account", "Notification",
                                     "EventTime"}  # fmt: skip
    assert all(signed(r, "Group.CallbackAfterGroupInfoChanged", "RESTAPI") for r in (full, notice_only))


@pytest.mark.anyio
async def test_recall_matches_the_sample_and_lists_only_recalled_seqs(world: World) -> None:
    await group_with_members(world)
    for text in ("first", "second"):
        await world.client.send_group_message(
            "case-1", [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]
        )
    answer = await world.client.call(
        "group_open_http_svc",
        "group_msg_recall",
        {"GroupId": "case-1", "MsgSeqList": [{"MsgSeq": 2}, {"MsgSeq": 9}]},
    )
    assert answer["RecallRetList"] == [{"MsgSeq": 2, "RetCode": 0}, {"MsgSeq": 9, "RetCode": 10030}]
    await world.emulator.drain()
    [received] = received_for(world, "Group.CallbackAfterRecallMsg")
    expected = sample("group-callback-after-recall-msg.json")
    # TopicId is sent for topic-enabled communities only (callback field table); there are no topics here.
    del expected["TopicId"]
    # This (KO-mirror) sample quotes EventTime; the field table and the CN 2025 sample say Integer.
    expected["EventTime"] = int(expected["EventTime"])
    assert shape_problems(received.body, expected, set()) == []
    assert (received.body["MsgSeqList"], received.body["Operator_Account"]) == ([{"MsgSeq": 2}], ADMIN)
    assert signed(received, "Group.CallbackAfterRecallMsg", "RESTAPI")


@pytest.mark.anyio
async def test_recall_of_nothing_recallable_fires_no_callback(world: World) -> None:
    await group_with_members(world)
    answer = await world.client.call(
        "group_open_http_svc", "group_msg_recall", {"GroupId": "case-1", "MsgSeqList": [{"MsgSeq": 1}]}
    )
    assert answer["RecallRetList"] == [{"MsgSeq": 1, "RetCode": 10030}]
    await world.emulator.drain()
    assert received_for(world, "Group.CallbackAfterRecallMsg") == []


@pytest.mark.anyio
async def test_before_apply_join_group_matches_the_sample_and_public_applications_wait(world: World) -> None:
    await public_group_for_applications(world)
    response = await apply(world)
    assert (response.status_code, response.json()["Result"]) == (200, "Pending")
    [received] = received_for(world, "Group.CallbackBeforeApplyJoinGroup")
    assert shape_problems(received.body, sample("group-callback-before-apply-join-group.json"), set()) == []
    assert (received.body["Requestor_Account"], received.body["Type"]) == ("jared", "Public")
    assert signed(received, "Group.CallbackBeforeApplyJoinGroup", "Web")
    await world.emulator.drain()
    assert received_for(world, "Group.CallbackAfterNewMemberJoin") == []  # waits for approval
    group = (await world.admin_http.get("/_emulator/groups/g")).json()
    assert group["JoinApplications"] == ["jared"]
    assert [m["Member_Account"] for m in group["MemberList"]] == ["leckie"]


@pytest.mark.anyio
async def test_meeting_group_applicant_joins_freely_after_the_callback_allows(world: World) -> None:
    await public_group_for_applications(world, "ChatRoom")
    response = await apply(world)
    assert (response.status_code, response.json()["Result"]) == (200, "Joined")
    await world.emulator.drain()
    [joined] = received_for(world, "Group.CallbackAfterNewMemberJoin")
    assert (
        shape_problems(joined.body, sample("group-callback-after-new-member-join.json"), NEWER_FIELDS) == []
    )
    assert (joined.body["JoinType"], joined.body["Operator_Account"]) == ("Apply", "jared")
    assert joined.body["NewMemberList"] == [{"Member_Account": "jared"}]
    assert (await apply(world)).json()["ErrorCode"] == 10013  # now a member


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("reply", "code"),
    [({"ErrorCode": 1}, 10016), ({"ErrorCode": 10150, "ErrorInfo": "members only"}, 10150)],
    ids=["refused", "refused-with-app-code"],
)
async def test_before_apply_reply_refuses_the_application(world: World, reply: JSON, code: int) -> None:
    async def refuse(body: JSON) -> Response:
        if body["CallbackCommand"] == "Group.CallbackBeforeApplyJoinGroup":
            return JSONResponse({"ActionStatus": "OK", "ErrorInfo": "", **reply})
        return JSONResponse(OK)

    await public_group_for_applications(world, "ChatRoom")
    world.receiver.reply = refuse
    response = await apply(world)
    assert (response.status_code, response.json()["ErrorCode"]) == (400, code)
    assert response.json()["ErrorInfo"] == reply.get("ErrorInfo", response.json()["ErrorInfo"])
    await world.emulator.drain()
    assert received_for(world, "Group.CallbackAfterNewMemberJoin") == []
    assert "jared" not in world.emulator.state.groups["g"].members


@pytest.mark.anyio
async def test_private_group_refuses_applications_without_asking_the_app(world: World) -> None:
    await public_group_for_applications(world, "Private")
    response = await apply(world)
    assert (response.status_code, response.json()["ErrorCode"]) == (400, 10007)
    assert received_for(world, "Group.CallbackBeforeApplyJoinGroup") == []


# ---- query string and Sign -------------------------------------------------------------------


@pytest.mark.anyio
async def test_query_string_carries_the_documented_fields_and_a_verifiable_sign(world: World) -> None:
    await world.client.create_group("g", "G")
    await world.emulator.drain()
    assert world.receiver.received
    for received in world.receiver.received:
        q = received.query
        assert q["SdkAppid"] == str(SDKAPPID)
        assert q["CallbackCommand"] == received.body["CallbackCommand"]
        assert (q["contenttype"], q["OptPlatform"], q["ClientIP"]) == ("json", "RESTAPI", "127.0.0.1")
        assert abs(int(q["RequestTime"]) - time.time()) <= 60
        assert q["Sign"] == hashlib.sha256((TOKEN + q["RequestTime"]).encode()).hexdigest()


@pytest.mark.anyio
async def test_without_a_token_there_is_no_sign() -> None:
    receiver = Receiver()
    gateway_app = Starlette(routes=[Route("/cb", receiver.endpoint, methods=["POST"])])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway_app)) as to_gateway:
        app = create_app(
            TencentEmulatorConfig(SDKAPPID, KEY, ADMIN, callback_url="http://gw/cb"), http=to_gateway
        )
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as to_tim:
            await TencentIMClient(SDKAPPID, KEY, ADMIN, "http://tim", http=to_tim).create_group("g", "G")
        await app.state.emulator.drain()
    [received] = receiver.received
    assert "Sign" not in received.query
    assert "RequestTime" not in received.query


# ---- delivery rules --------------------------------------------------------------------------


@pytest.mark.anyio
async def test_forbid_after_send_msg_callback_suppresses_the_echo(world: World) -> None:
    await group_with_members(world)
    await world.client.send_group_message(
        "case-1", [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "from SF"}}]
    )
    await world.admin_http.post(
        "/_emulator/groups/case-1/messages", json={"from": "bob", "text": "from the app"}
    )
    await world.emulator.drain()
    after = [r for r in world.receiver.received if r.query["CallbackCommand"] == "Group.CallbackAfterSendMsg"]
    assert [r.body["MsgBody"][0]["MsgContent"]["Text"] for r in after] == ["from the app"]
    assert (after[0].query["OptPlatform"], after[0].body["Operator_Account"], after[0].body["MsgSeq"]) == (
        "Web",
        "bob",
        2,
    )


@pytest.mark.anyio
async def test_duplicate_random_fires_no_second_callback(world: World) -> None:
    await group_with_members(world)
    for _ in range(2):
        await world.client.call(
            "group_open_http_svc",
            "send_group_msg",
            {
                "GroupId": "case-1",
                "Random": 99,
                "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "a"}}],
            },
        )
    await world.emulator.drain()
    assert len(world.receiver.bodies("Group.CallbackAfterSendMsg")) == 1


@pytest.mark.anyio
async def test_after_callbacks_are_sent_after_the_api_answers(world: World) -> None:
    release = asyncio.Event()

    async def slow(body: JSON) -> Response:
        if body["CallbackCommand"] == "Group.CallbackAfterCreateGroup":
            await release.wait()
        return JSONResponse(OK)

    world.receiver.reply = slow
    world.emulator.config.callback_timeout = 5.0
    await world.client.create_group("g", "G")  # returns although the callback is still waiting
    assert [d.command for d in world.emulator.callbacks.log] == ["Group.CallbackBeforeCreateGroup"]
    release.set()
    await world.emulator.drain()
    assert world.emulator.callbacks.log[-1].outcome == "delivered"


@pytest.mark.anyio
async def test_before_send_msg_reply_decides_reject_drop_or_rewrite(world: World) -> None:
    await group_with_members(world)
    decisions: list[JSON] = [
        {"ErrorCode": 1},
        {"ErrorCode": 2},
        {"ErrorCode": 0, "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "***"}}]},
    ]

    async def decide(body: JSON) -> Response:
        if body["CallbackCommand"] == "Group.CallbackBeforeSendMsg":
            return JSONResponse({"ActionStatus": "OK", "ErrorInfo": "", **decisions.pop(0)})
        return JSONResponse(OK)

    world.receiver.reply = decide
    message = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "bad word"}}]
    with pytest.raises(TencentIMPermanentError) as caught:
        await world.client.send_group_message("case-1", message, forbid_after_callback=False)
    assert caught.value.code == 10016
    dropped = await world.client.send_group_message("case-1", message, forbid_after_callback=False)
    assert dropped.msg_seq == 0
    rewritten = await world.client.send_group_message("case-1", message, forbid_after_callback=False)
    await world.emulator.drain()
    history = await world.client.get_group_history("case-1")
    assert [(m.msg_seq, m.msg_body[0]["MsgContent"]["Text"]) for m in history.messages] == [
        (rewritten.msg_seq, "***")
    ]
    assert len(world.receiver.bodies("Group.CallbackAfterSendMsg")) == 1


@pytest.mark.anyio
async def test_failed_before_callback_lets_the_message_through(world: World) -> None:
    async def broken(body: JSON) -> Response:
        return Response("oops", status_code=500)

    world.receiver.reply = broken
    await world.client.create_group("g", "G")
    sent = await world.client.send_group_message(
        "g", [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "x"}}]
    )
    assert sent.msg_seq == 1
    await world.emulator.drain()
    assert {d.outcome for d in world.emulator.callbacks.log} == {"failed"}


@pytest.mark.anyio
async def test_after_callback_timeout_is_not_retried_by_default(world: World) -> None:
    async def too_slow(body: JSON) -> Response:
        await asyncio.sleep(1.0)
        return JSONResponse(OK)

    world.emulator.config.callback_commands = frozenset({"Group.CallbackAfterCreateGroup"})
    world.receiver.reply = too_slow
    await world.client.create_group("g", "G")
    await world.emulator.drain()
    assert [(d.attempt, d.outcome) for d in world.emulator.callbacks.log] == [(1, "timeout")]


@pytest.mark.anyio
async def test_retry_option_redelivers_after_timeouts_so_duplicates_arrive(world: World) -> None:
    async def too_slow(body: JSON) -> Response:
        await asyncio.sleep(1.0)
        return JSONResponse(OK)

    world.emulator.config.callback_commands = frozenset({"Group.CallbackAfterCreateGroup"})
    world.emulator.config.retry_after_callbacks = True
    world.receiver.reply = too_slow
    await world.client.create_group("g", "G")
    await world.emulator.drain()
    assert [(d.attempt, d.outcome) for d in world.emulator.callbacks.log] == [
        (1, "timeout"),
        (2, "timeout"),
        (3, "timeout"),
    ]
    assert len(world.receiver.received) == 3  # the app saw the same event three times


@pytest.mark.anyio
async def test_dropped_callbacks_never_reach_the_app(world: World) -> None:
    world.emulator.faults = Faults(drop_ratio=1.0)
    await world.client.create_group("g", "G")
    await world.emulator.drain()
    assert world.receiver.received == []
    assert {d.outcome for d in world.emulator.callbacks.log} == {"dropped"}


@pytest.mark.anyio
async def test_delivery_log_is_readable_through_the_admin_api(world: World) -> None:
    await world.client.create_group("g", "G")
    await world.admin_http.post("/_emulator/drain")
    log = (
        await world.admin_http.get(
            "/_emulator/callbacks", params={"command": "Group.CallbackAfterCreateGroup"}
        )
    ).json()
    [entry] = log["deliveries"]
    assert (entry["outcome"], entry["body"]["GroupId"], entry["query"]["SdkAppid"]) == (
        "delivered",
        "g",
        str(SDKAPPID),
    )
