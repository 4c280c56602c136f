"""modify_group_base_info, group_msg_recall and the test API's "apply to join" answer as documented.

Raw HTTP against the emulator, as in test_tencent_emulator.py: the documented limits and error
codes of each new API, and what the change reads back as afterwards. The callbacks they fire
are compared with the samples in test_tencent_callbacks_emitted.py.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from emulators.tencent_im import TencentEmulatorConfig, create_app
from tests.support.tencent import ADMIN, KEY, SDKAPPID, Clock, Tim, frozen, sig

JSON = dict[str, Any]


@pytest.fixture
async def tim() -> AsyncIterator[Tim]:
    clock = Clock(time.time())
    config = TencentEmulatorConfig(SDKAPPID, KEY, ADMIN, clock=clock, monotonic=frozen, api_rate_limit=10_000)
    app = create_app(config)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tim") as http:
        yield Tim(app.state.emulator, http, clock)


async def modify(tim: Tim, **fields: Any) -> JSON:
    return await tim.rest("modify_group_base_info", {"GroupId": "case-1", **fields})


async def recall(tim: Tim, *seqs: Any, group_id: str = "case-1") -> JSON:
    return await tim.rest(
        "group_msg_recall", {"GroupId": group_id, "MsgSeqList": [{"MsgSeq": s} for s in seqs]}
    )


async def apply(tim: Tim, user: str, group_id: str = "g") -> httpx.Response:
    return await tim.http.post(f"/_emulator/groups/{group_id}/apply", json={"user": user})


async def info(tim: Tim, group_id: str = "case-1") -> JSON:
    answer = await tim.rest("get_group_info", {"GroupIdList": [group_id]})
    group: JSON = answer["GroupInfo"][0]
    return group


# ---- modify_group_base_info ------------------------------------------------------------------


@pytest.mark.anyio
async def test_modify_changes_the_profile_that_get_group_info_reads_back(tim: Tim) -> None:
    await tim.group()
    before = await info(tim)
    answer = await modify(tim, Name="客服", Notification="Closed at 6", MaxMemberNum=50, MuteAllMember="On")
    assert (answer["ActionStatus"], answer["ErrorCode"]) == ("OK", 0)
    after = await info(tim)
    assert (after["Name"], after["Notification"], after["MaxMemberNum"]) == ("客服", "Closed at 6", 50)
    assert (after["Introduction"], after["ShutUpAllMember"]) == (before["Introduction"], "On")
    assert after["InfoSeq"] == before["InfoSeq"] + 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("field", "limit"), [("Name", 30), ("Introduction", 240), ("Notification", 300), ("FaceUrl", 100)]
)
async def test_profile_strings_are_limited_in_utf8_bytes(tim: Tim, field: str, limit: int) -> None:
    await tim.group()
    assert (await modify(tim, **{field: "x" * limit}))["ErrorCode"] == 0
    assert (await modify(tim, **{field: "x" * (limit + 1)}))["ErrorCode"] == 10004
    # A CJK character is 3 bytes: limit // 3 + 1 of them is over the limit in bytes, not in characters.
    assert (await modify(tim, **{field: "群" * (limit // 3 + 1)}))["ErrorCode"] == 10004
    assert (await info(tim))[field] == "x" * limit  # refused changes leave the profile alone


@pytest.mark.anyio
@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"Name": ""}, id="empty-name"),
        pytest.param({"Name": 7}, id="name-not-a-string"),
        pytest.param({"MaxMemberNum": 0}, id="max-members-zero"),
        pytest.param({"ApplyJoinOption": "Anyone"}, id="unknown-apply-option"),
        pytest.param({"MuteAllMember": "Yes"}, id="mute-not-on-off"),
        pytest.param({"AppDefinedData": [{"Key": "bad key!", "Value": "v"}]}, id="bad-custom-key"),
        pytest.param({"AppDefinedData": [{"Key": "k", "Value": "v" * 513}]}, id="custom-value-too-long"),
        pytest.param({"Name": "ok", "FaceUrl": "u" * 101}, id="one-bad-field-refuses-all"),
    ],
)
async def test_invalid_parameters_answer_10004_and_change_nothing(tim: Tim, fields: JSON) -> None:
    await tim.group()
    assert (await modify(tim, **fields))["ErrorCode"] == 10004
    assert (await info(tim))["Name"] == "Support"


@pytest.mark.anyio
async def test_modify_needs_a_group_id(tim: Tim) -> None:
    assert (await tim.rest("modify_group_base_info", {"Name": "x"}))["ErrorCode"] == 10004


@pytest.mark.anyio
async def test_modify_of_an_unknown_or_dismissed_group_answers_10010(tim: Tim) -> None:
    assert (await modify(tim, Name="x"))["ErrorCode"] == 10010
    await tim.group()
    await tim.rest("destroy_group", {"GroupId": "case-1"})
    assert (await modify(tim, Name="x"))["ErrorCode"] == 10010


@pytest.mark.anyio
async def test_modify_as_an_account_that_was_not_imported_answers_10019(tim: Tim) -> None:
    await tim.group()
    assert (await modify(tim, Name="x", From_Account="ghost"))["ErrorCode"] == 10019


# ---- group_msg_recall ------------------------------------------------------------------------


@pytest.mark.anyio
async def test_recall_answers_per_message_and_history_shows_a_recalled_placeholder(tim: Tim) -> None:
    await tim.group()
    for r in (1, 2):
        await tim.send("case-1", f"m{r}", r)
    answer = await recall(tim, 1, 7)
    assert (answer["ActionStatus"], answer["ErrorCode"]) == ("OK", 0)
    assert answer["RecallRetList"] == [{"MsgSeq": 1, "RetCode": 0}, {"MsgSeq": 7, "RetCode": 10030}]
    history = await tim.rest("group_msg_get_simple", {"GroupId": "case-1", "ReqMsgNumber": 20})
    assert [(m["MsgSeq"], m["IsPlaceMsg"], m["MsgBody"]) for m in history["RspMsgList"]] == [
        (2, 0, [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "m2"}}]),
        (1, 2, []),
    ]
    assert (await recall(tim, 1))["RecallRetList"] == [{"MsgSeq": 1, "RetCode": 10030}]  # already gone


@pytest.mark.anyio
async def test_messages_past_roaming_retention_cannot_be_recalled(tim: Tim) -> None:
    await tim.group()
    await tim.send("case-1", "old", 1)
    tim.clock.now += 8 * 86400  # past the 7-day default retention (a 30-day sig stays valid)
    body = {"GroupId": "case-1", "MsgSeqList": [{"MsgSeq": 1}]}
    answer = await tim.rest("group_msg_recall", body, usersig=sig(expire=30 * 86400))
    assert answer["RecallRetList"] == [{"MsgSeq": 1, "RetCode": 10030}]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"GroupId": "case-1", "MsgSeqList": []}, id="empty-list"),
        pytest.param({"GroupId": "case-1"}, id="no-list"),
        pytest.param(
            {"GroupId": "case-1", "MsgSeqList": [{"MsgSeq": s} for s in range(1, 12)]}, id="11-seqs"
        ),
        pytest.param({"GroupId": "case-1", "MsgSeqList": [{"MsgSeq": "1"}]}, id="seq-not-an-integer"),
        pytest.param({"GroupId": "case-1", "MsgSeqList": [1]}, id="entry-not-an-object"),
        pytest.param({"MsgSeqList": [{"MsgSeq": 1}]}, id="no-group-id"),
    ],
)
async def test_invalid_recall_requests_answer_10004(tim: Tim, body: JSON) -> None:
    await tim.group()
    await tim.send("case-1", "m", 1)
    assert (await tim.rest("group_msg_recall", body))["ErrorCode"] == 10004
    assert tim.emulator.state.groups["case-1"].messages[0].recalled is False


@pytest.mark.anyio
async def test_ten_seqs_is_the_documented_maximum(tim: Tim) -> None:
    await tim.group()
    assert len((await recall(tim, *range(1, 11)))["RecallRetList"]) == 10


@pytest.mark.anyio
async def test_recall_in_an_unknown_or_dismissed_group_answers_10010(tim: Tim) -> None:
    assert (await recall(tim, 1))["ErrorCode"] == 10010
    await tim.group()
    await tim.send("case-1", "m", 1)
    await tim.rest("destroy_group", {"GroupId": "case-1"})
    assert (await recall(tim, 1))["ErrorCode"] == 10010


# ---- apply to join (test API) ---------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(("group_type", "result"), [("Public", "Pending"), ("ChatRoom", "Joined")])
async def test_without_the_callback_public_waits_and_meeting_joins(
    tim: Tim, group_type: str, result: str
) -> None:
    await tim.imported("jared")
    await tim.rest("create_group", {"Type": group_type, "Name": "G", "GroupId": "g"})
    response = await apply(tim, "jared")
    assert (response.status_code, response.json()["Result"]) == (200, result)
    assert ("jared" in tim.emulator.state.groups["g"].members) == (result == "Joined")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("group_type", "user", "code"),
    [
        pytest.param("Private", "jared", 10007, id="work-group-takes-no-applications"),
        pytest.param("ChatRoom", "ghost", 10019, id="account-not-imported"),
        pytest.param("ChatRoom", "leckie", 10013, id="already-a-member"),
        pytest.param("AVChatRoom", "jared", 10004, id="type-not-emulated"),
    ],
)
async def test_applications_that_cannot_be_made(tim: Tim, group_type: str, user: str, code: int) -> None:
    await tim.imported("leckie", "jared")
    await tim.rest(
        "create_group", {"Type": group_type, "Name": "G", "GroupId": "g", "Owner_Account": "leckie"}
    )
    response = await apply(tim, user)
    assert (response.status_code, response.json()["ActionStatus"], response.json()["ErrorCode"]) == (
        400,
        "FAIL",
        code,
    )


@pytest.mark.anyio
async def test_full_meeting_group_refuses_the_applicant_with_10014(tim: Tim) -> None:
    await tim.imported("leckie", "jared")
    await tim.rest(
        "create_group",
        {"Type": "ChatRoom", "Name": "G", "GroupId": "g", "Owner_Account": "leckie", "MaxMemberCount": 1},
    )
    assert (await apply(tim, "jared")).json()["ErrorCode"] == 10014


@pytest.mark.anyio
async def test_applying_to_an_unknown_or_dismissed_group_answers_10010(tim: Tim) -> None:
    await tim.imported("jared")
    assert (await apply(tim, "jared")).json()["ErrorCode"] == 10010
    await tim.rest("create_group", {"Type": "ChatRoom", "Name": "G", "GroupId": "g"})
    await tim.rest("destroy_group", {"GroupId": "g"})
    assert (await apply(tim, "jared")).json()["ErrorCode"] == 10010


@pytest.mark.anyio
async def test_apply_needs_a_user(tim: Tim) -> None:
    response = await tim.http.post("/_emulator/groups/g/apply", json={})
    assert (response.status_code, response.json()["ErrorCode"]) == (400, 10004)
