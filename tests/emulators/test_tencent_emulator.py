"""The Tencent IM emulator behaves like the documented service (docs/tencent-im.md).

Raw HTTP against the ASGI app, UserSigs made by tls-sig-api-v2: no gateway code involved, so
these tests pin down the emulator as an independent witness.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulators.faults import Faults
from emulators.tencent_im import TencentEmulator, TencentEmulatorConfig, create_app, main_app_from_env
from emulators.tencent_im.usersig import UserSigError, verify_usersig
from emulators.tencent_im.validation import is_valid_group_id
from tests.support.tencent import ADMIN, JSON, KEY, SDKAPPID, Clock, Tim, frozen, sig


@pytest.fixture
async def tim() -> AsyncIterator[Tim]:
    clock = Clock(time.time())  # real "now": tls-sig-api-v2 stamps sigs with time.time()
    # The rate-limit clock is frozen so "per second" limits are deterministic.
    config = TencentEmulatorConfig(SDKAPPID, KEY, ADMIN, clock=clock, monotonic=frozen, api_rate_limit=10_000)
    app = create_app(config)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tim") as http:
        yield Tim(app.state.emulator, http, clock)


# ---- UserSig ---------------------------------------------------------------------------------


def test_usersig_made_by_tls_sig_api_v2_with_the_right_key_verifies() -> None:
    doc = verify_usersig(sig("alice"), SDKAPPID, KEY, "alice")
    assert doc["TLS.identifier"] == "alice"
    assert doc["TLS.sdkappid"] == SDKAPPID


@pytest.mark.parametrize(
    ("usersig", "appid", "identifier", "now_offset", "code"),
    [
        pytest.param(sig("alice", key="another-key"), SDKAPPID, "alice", 0, 70009, id="wrong-key"),
        pytest.param(sig("alice", appid=1400000002), SDKAPPID, "alice", 0, 70014, id="wrong-sdkappid"),
        pytest.param(sig("alice"), SDKAPPID, "bob", 0, 70013, id="identifier-mismatch"),
        pytest.param(sig("alice", expire=60), SDKAPPID, "alice", 120, 70001, id="expired"),
        pytest.param("not-a-usersig", SDKAPPID, "alice", 0, 70003, id="undecodable"),
        pytest.param(sig("alice")[:-20], SDKAPPID, "alice", 0, 70003, id="truncated"),
    ],
)
def test_bad_usersig_is_rejected_with_the_documented_code(
    usersig: str, appid: int, identifier: str, now_offset: int, code: int
) -> None:
    with pytest.raises(UserSigError) as caught:
        verify_usersig(usersig, appid, KEY, identifier, now=time.time() + now_offset)
    assert caught.value.code == code


@pytest.mark.anyio
async def test_rest_call_with_expired_admin_usersig_answers_70001(tim: Tim) -> None:
    tim.clock.now += 10 * 86400  # the sig (1 day) is long expired by the emulator's clock
    answer = await tim.rest("get_group_info", {"GroupIdList": ["x"]})
    assert (answer["ActionStatus"], answer["ErrorCode"]) == ("FAIL", 70001)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        pytest.param({"usersig": sig(key="wrong")}, 70009, id="wrong-key"),
        pytest.param({"usersig": sig("someone")}, 70013, id="sig-of-another-identifier"),
        pytest.param({"usersig": sig(appid=1400000002)}, 70014, id="sig-of-another-app"),
        pytest.param({"usersig": "garbage"}, 70003, id="undecodable"),
        pytest.param({"appid": 1400000002, "usersig": sig(appid=1400000002)}, 70020, id="unknown-sdkappid"),
        pytest.param({"identifier": "alice"}, 60010, id="not-the-app-admin"),
    ],
)
async def test_rest_call_with_bad_credentials_fails_with_documented_code(
    tim: Tim, kwargs: dict[str, Any], code: int
) -> None:
    answer = await tim.rest("get_group_info", {"GroupIdList": ["x"]}, **kwargs)
    assert answer["ErrorCode"] == code
    assert answer["ActionStatus"] == "FAIL"


@pytest.mark.anyio
async def test_account_api_called_by_non_admin_answers_70403(tim: Tim) -> None:
    answer = await tim.rest(
        "account_import", {"UserID": "u"}, service="im_open_login_svc", identifier="alice"
    )
    assert answer["ErrorCode"] == 70403


@pytest.mark.anyio
async def test_unknown_command_answers_10003_and_bad_json_60003(tim: Tim) -> None:
    assert (await tim.rest("no_such_command", {}))["ErrorCode"] == 10003
    assert (await tim.rest("get_group_info", b"{not json"))["ErrorCode"] == 60003


# ---- accounts --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_account_import_is_idempotent_and_account_check_reports_status(tim: Tim) -> None:
    await tim.imported("u1", "u1")
    answer = await tim.rest(
        "account_check", {"CheckItem": [{"UserID": "u1"}, {"UserID": "u2"}]}, service="im_open_login_svc"
    )
    assert [(r["UserID"], r["AccountStatus"]) for r in answer["ResultItem"]] == [
        ("u1", "Imported"),
        ("u2", "NotImported"),
    ]


@pytest.mark.anyio
async def test_account_import_rejects_user_id_over_32_bytes_with_70402(tim: Tim) -> None:
    answer = await tim.rest("account_import", {"UserID": "x" * 33}, service="im_open_login_svc")
    assert answer["ErrorCode"] == 70402


@pytest.mark.anyio
async def test_multiaccount_import_lists_failed_accounts(tim: Tim) -> None:
    body = {"AccountList": [{"UserID": "ok1"}, {"UserID": "y" * 40}]}
    answer = await tim.rest("multiaccount_import", body, service="im_open_login_svc")
    assert answer["ErrorCode"] == 0
    assert answer["FailAccounts"] == ["y" * 40]


# ---- groups ----------------------------------------------------------------------------------


def spec_allows(group_id: str) -> bool:
    """The documented rule, written independently of the emulator's code."""
    return (
        0 < len(group_id.encode()) <= 48
        and all(0x20 <= ord(c) <= 0x7E for c in group_id)
        and not group_id.startswith("@TGS#")
    )


@given(
    st.one_of(st.text(max_size=60), st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E)))
)
def test_group_id_validation_matches_the_documented_rule(group_id: str) -> None:
    assert is_valid_group_id(group_id) == spec_allows(group_id)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param({"GroupId": "@TGS#mine"}, 10004, id="reserved-prefix"),
        pytest.param({"GroupId": "g" * 49}, 10004, id="id-over-48-bytes"),
        pytest.param({"GroupId": "caf\u00e9"}, 10004, id="non-ascii-id"),
        pytest.param({"Name": "\u5ba2" * 11}, 10004, id="name-over-30-bytes"),
        pytest.param({"Type": "Work"}, 10004, id="sdk-type-name"),
        pytest.param({"Owner_Account": "ghost"}, 10019, id="owner-not-imported"),
        pytest.param({"MemberList": [{"Member_Account": "ghost"}]}, 10019, id="member-not-imported"),
        pytest.param(
            {"Type": "AVChatRoom", "MemberList": [{"Member_Account": ADMIN}]}, 10007, id="avchatroom-members"
        ),
    ],
)
async def test_create_group_rejects_what_the_docs_forbid(tim: Tim, body: JSON, code: int) -> None:
    answer = await tim.rest(
        "create_group", {"Type": "Private", "Name": "Support", "GroupId": "case-1", **body}
    )
    assert answer["ErrorCode"] == code


@pytest.mark.anyio
async def test_create_group_without_id_gets_an_automatic_tgs_id(tim: Tim) -> None:
    answer = await tim.rest("create_group", {"Type": "Private", "Name": "Support"})
    assert answer["ErrorCode"] == 0
    assert answer["GroupId"].startswith("@TGS#")


@pytest.mark.anyio
async def test_name_of_exactly_30_bytes_is_accepted(tim: Tim) -> None:
    assert (await tim.group(Name="\u5ba2" * 10))["ErrorCode"] == 0


@pytest.mark.anyio
async def test_existing_id_answers_10025_to_its_owner_and_10021_otherwise(tim: Tim) -> None:
    await tim.imported("alice")
    assert (await tim.group("mine"))["ErrorCode"] == 0
    assert (await tim.group("mine"))["ErrorCode"] == 10025  # ownerless, created by this admin
    assert (await tim.group("alices", Owner_Account="alice"))["ErrorCode"] == 0
    assert (await tim.group("alices", Owner_Account="alice"))["ErrorCode"] == 10021


@pytest.mark.anyio
async def test_add_group_member_answers_per_member_results(tim: Tim) -> None:
    await tim.imported("u1", "u2")
    await tim.group()
    await tim.rest("add_group_member", {"GroupId": "case-1", "MemberList": [{"Member_Account": "u1"}]})
    body = {
        "GroupId": "case-1",
        "Silence": 1,
        "MemberList": [{"Member_Account": u} for u in ("u1", "u2", "ghost")],
    }
    answer = await tim.rest("add_group_member", body)
    assert answer["ErrorCode"] == 0
    assert {m["Member_Account"]: m["Result"] for m in answer["MemberList"]} == {"u1": 2, "u2": 1, "ghost": 0}


@pytest.mark.anyio
async def test_add_group_member_takes_at_most_300_per_call(tim: Tim) -> None:
    await tim.group()
    members = [{"Member_Account": f"u{i}"} for i in range(301)]
    assert (await tim.rest("add_group_member", {"GroupId": "case-1", "MemberList": members}))[
        "ErrorCode"
    ] == 10004


@pytest.mark.anyio
async def test_delete_group_member_removes_members_and_member_info_lists_the_rest(tim: Tim) -> None:
    await tim.imported("owner", "u1", "u2")
    await tim.group(Owner_Account="owner", MemberList=[{"Member_Account": "u1"}, {"Member_Account": "u2"}])
    assert (await tim.rest("delete_group_member", {"GroupId": "case-1", "MemberToDel_Account": ["u1"]}))[
        "ErrorCode"
    ] == 0
    info = await tim.rest("get_group_member_info", {"GroupId": "case-1", "Limit": 1, "Offset": 1})
    assert info["MemberNum"] == 2
    assert [m["Member_Account"] for m in info["MemberList"]] == ["u2"]
    roles = await tim.rest("get_group_member_info", {"GroupId": "case-1"})
    assert {m["Member_Account"]: m["Role"] for m in roles["MemberList"]} == {"owner": "Owner", "u2": "Member"}


@pytest.mark.anyio
async def test_destroyed_group_answers_10010_everywhere_and_its_history_is_unreadable(tim: Tim) -> None:
    await tim.group()
    await tim.send("case-1", "hello", 1)
    assert (await tim.rest("destroy_group", {"GroupId": "case-1"}))["ErrorCode"] == 0
    assert (await tim.rest("destroy_group", {"GroupId": "case-1"}))["ErrorCode"] == 10010
    history = await tim.rest("group_msg_get_simple", {"GroupId": "case-1", "ReqMsgNumber": 20})
    assert history["ErrorCode"] == 10010
    info = await tim.rest("get_group_info", {"GroupIdList": ["case-1"]})
    assert (info["ErrorCode"], info["GroupInfo"][0]["ErrorCode"]) == (0, 10010)


# ---- messages --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_msg_seq_starts_at_1_and_increases_per_group(tim: Tim) -> None:
    await tim.group("a")
    await tim.group("b")
    seqs = [(await tim.send(g, "hi", r))["MsgSeq"] for g, r in [("a", 1), ("a", 2), ("b", 3), ("a", 4)]]
    assert seqs == [1, 2, 1, 3]


@pytest.mark.anyio
async def test_duplicate_random_within_5_minutes_is_discarded_but_answered_like_the_first(tim: Tim) -> None:
    await tim.group()
    first = await tim.send("case-1", "hello", 777)
    tim.clock.now += 299
    again = await tim.send("case-1", "hello again", 777)
    assert (again["ErrorCode"], again["MsgSeq"], again["MsgTime"]) == (0, first["MsgSeq"], first["MsgTime"])
    history = await tim.rest("group_msg_get_simple", {"GroupId": "case-1", "ReqMsgNumber": 20})
    assert [m["MsgBody"][0]["MsgContent"]["Text"] for m in history["RspMsgList"]] == ["hello"]


@pytest.mark.anyio
async def test_same_random_after_the_window_is_a_new_message(tim: Tim) -> None:
    await tim.group()
    await tim.send("case-1", "hello", 777)
    tim.clock.now += 301
    assert (await tim.send("case-1", "later", 777))["MsgSeq"] == 2


@pytest.mark.anyio
async def test_41st_message_in_one_second_answers_10023(tim: Tim) -> None:
    await tim.group()
    codes = [(await tim.send("case-1", "x", r))["ErrorCode"] for r in range(41)]
    assert codes == [0] * 40 + [10023]


@pytest.mark.anyio
async def test_message_over_8000_bytes_of_text_answers_80002(tim: Tim) -> None:
    await tim.group()
    assert (await tim.send("case-1", "x" * 8001, 1))["ErrorCode"] == 80002
    assert (await tim.send("case-1", "x" * 8000, 2))["ErrorCode"] == 0


@pytest.mark.anyio
async def test_send_from_an_account_that_was_not_imported_fails(tim: Tim) -> None:
    await tim.group()
    assert (await tim.send("case-1", "x", 1, From_Account="ghost"))["ErrorCode"] == 10019


@pytest.mark.anyio
async def test_history_pages_backwards_by_smallest_seq_minus_one(tim: Tim) -> None:
    await tim.group()
    for r in range(25):
        await tim.send("case-1", f"m{r + 1}", r)
    first = await tim.rest("group_msg_get_simple", {"GroupId": "case-1", "ReqMsgNumber": 20})
    seqs = [m["MsgSeq"] for m in first["RspMsgList"]]
    assert seqs == list(range(25, 5, -1))
    second = await tim.rest(
        "group_msg_get_simple", {"GroupId": "case-1", "ReqMsgNumber": 20, "ReqMsgSeq": min(seqs) - 1}
    )
    assert [m["MsgSeq"] for m in second["RspMsgList"]] == [5, 4, 3, 2, 1]
    assert second["IsFinished"] == 1
    assert set(second["RspMsgList"][0]) == {
        "From_Account",
        "IsPlaceMsg",
        "MsgBody",
        "MsgPriority",
        "MsgRandom",
        "MsgSeq",
        "MsgTimeStamp",
    }


@pytest.mark.anyio
async def test_history_asks_for_at_most_20_messages(tim: Tim) -> None:
    await tim.group()
    assert (await tim.rest("group_msg_get_simple", {"GroupId": "case-1", "ReqMsgNumber": 21}))[
        "ErrorCode"
    ] == 10004


@pytest.mark.anyio
async def test_avchatroom_keeps_no_history(tim: Tim) -> None:
    await tim.rest("create_group", {"Type": "AVChatRoom", "Name": "live", "GroupId": "live"})
    assert (await tim.send("live", "x", 1))["ErrorCode"] == 0
    assert (await tim.rest("group_msg_get_simple", {"GroupId": "live", "ReqMsgNumber": 5}))[
        "ErrorCode"
    ] == 10007


# ---- limits and faults -----------------------------------------------------------------------


@pytest.mark.anyio
async def test_per_api_rate_limit_answers_60007() -> None:
    config = TencentEmulatorConfig(SDKAPPID, KEY, ADMIN, api_rate_limit=3, monotonic=frozen)
    app = create_app(config)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tim") as http:
        tim = Tim(app.state.emulator, http, Clock(0))
        codes = [(await tim.rest("get_group_info", {"GroupIdList": ["x"]}))["ErrorCode"] for _ in range(4)]
    assert codes == [0, 0, 0, 60007]


@pytest.mark.anyio
async def test_forced_faults_fail_the_next_calls_in_order_without_side_effects(tim: Tim) -> None:
    tim.emulator.faults = Faults(forced_errors=["60007", "10002"])
    assert (await tim.group())["ErrorCode"] == 60007
    assert (await tim.group())["ErrorCode"] == 10002
    assert (await tim.group())["ErrorCode"] == 0


@pytest.mark.anyio
async def test_http_fault_answers_a_gateway_error(tim: Tim) -> None:
    tim.emulator.faults = Faults(forced_errors=["http:502"])
    params = {"sdkappid": str(SDKAPPID), "identifier": ADMIN, "usersig": sig(), "random": "1"}
    response = await tim.http.post("/v4/group_open_http_svc/get_group_info", params=params, json={})
    assert response.status_code == 502


# ---- test API -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_admin_api_shows_accounts_groups_and_a_users_message(tim: Tim) -> None:
    await tim.imported("alice")
    await tim.group("case-9", MemberList=[{"Member_Account": "alice"}])
    said = await tim.http.post("/_emulator/groups/case-9/messages", json={"from": "alice", "text": "help!"})
    assert said.json()["MsgSeq"] == 1
    accounts = (await tim.http.get("/_emulator/accounts")).json()["accounts"]
    assert {a["UserID"] for a in accounts} == {ADMIN, "alice"}
    groups = (await tim.http.get("/_emulator/groups")).json()["groups"]
    assert [(g["GroupId"], g["Dismissed"]) for g in groups] == [("case-9", False)]
    detail = (await tim.http.get("/_emulator/groups/case-9")).json()
    assert [m["MsgBody"][0]["MsgContent"]["Text"] for m in detail["Messages"]] == ["help!"]
    assert [m["Member_Account"] for m in detail["MemberList"]] == ["alice"]


@pytest.mark.anyio
async def test_admin_api_refuses_a_message_from_a_non_member(tim: Tim) -> None:
    await tim.imported("mallory")
    await tim.group()
    said = await tim.http.post("/_emulator/groups/case-1/messages", json={"from": "mallory", "text": "hi"})
    assert (said.status_code, said.json()["ErrorCode"]) == (400, 10007)


@pytest.mark.anyio
async def test_admin_api_quit_and_console_destroy(tim: Tim) -> None:
    await tim.imported("alice")
    await tim.group(MemberList=[{"Member_Account": "alice"}])
    assert (await tim.http.post("/_emulator/groups/case-1/quit", json={"member": "alice"})).status_code == 200
    assert (await tim.http.post("/_emulator/groups/case-1/destroy")).status_code == 200
    detail = (await tim.http.get("/_emulator/groups/case-1")).json()
    assert (detail["Dismissed"], detail["MemberNum"]) == (True, 0)


@pytest.mark.anyio
async def test_admin_api_sets_faults(tim: Tim) -> None:
    put = await tim.http.put("/_emulator/faults", json={"forced_errors": ["10006"]})
    assert put.json()["forced_errors"] == ["10006"]
    assert (await tim.group())["ErrorCode"] == 10006


@pytest.mark.anyio
async def test_admin_api_issues_user_sigs_the_emulator_accepts(tim: Tim) -> None:
    made = (await tim.http.post("/_emulator/usersig", json={"UserID": "alice", "expire": 600})).json()
    assert verify_usersig(made["UserSig"], SDKAPPID, KEY, "alice")["TLS.expire"] == 600


def test_config_from_env_reads_the_gateways_variable_names() -> None:
    env = {
        "TIM_SDKAPPID": "1400000009",
        "TIM_SECRET_KEY": "k",
        "TIM_ADMIN_IDENTIFIER": "boss",
        "TIM_CALLBACK_TOKEN": "t",
    }
    config = TencentEmulatorConfig.from_env(env, "http://gw/tencent/callback")
    assert (config.sdkappid, config.admin_identifier, config.callback_token) == (1400000009, "boss", "t")
    assert config.callback_url == "http://gw/tencent/callback"
    assert isinstance(main_app_from_env(env).state.emulator, TencentEmulator)


def test_config_from_env_names_the_missing_variable() -> None:
    with pytest.raises(ValueError, match="TIM_SECRET_KEY"):
        TencentEmulatorConfig.from_env({"TIM_SDKAPPID": "1"}, None)
