"""The gateway's Tencent IM client, run against the emulator through httpx.ASGITransport.

Nothing of the client is mocked: each test drives real REST calls into the in-process emulator
and checks what the gateway sees (results, RetryableError vs PermanentError, idempotent success).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from emulators.faults import Faults
from emulators.tencent_im import TencentEmulator, TencentEmulatorConfig, create_app
from gateway.clients.tencent_im.client import TencentIMClient
from gateway.clients.tencent_im.errors import (
    MembersNotAddedError,
    TencentIMPermanentError,
    TencentIMRetryableError,
)
from gateway.clients.tencent_im.ratelimit import AsyncTokenBucket
from gateway.clients.tencent_im.regions import base_url_for_region
from gateway.errors import PermanentError, RetryableError

SDKAPPID = 1400000001
KEY = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
ADMIN = "administrator"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@dataclass
class Setup:
    client: TencentIMClient
    emulator: TencentEmulator
    client_clock: Clock
    emulator_clock: Clock


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    emulator_clock, client_clock = Clock(), Clock()
    app = create_app(TencentEmulatorConfig(SDKAPPID, KEY, ADMIN, clock=emulator_clock))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        client = TencentIMClient(
            SDKAPPID, KEY, ADMIN, "http://tim.test", http=http, usersig_lifetime=86400, clock=client_clock
        )
        yield Setup(client, app.state.emulator, client_clock, emulator_clock)
        await client.aclose()


def text(value: str) -> list[dict[str, object]]:
    return [{"MsgType": "TIMTextElem", "MsgContent": {"Text": value}}]


# ---- the happy path --------------------------------------------------------------------------


@pytest.mark.anyio
async def test_import_create_add_send_and_page_history_back(setup: Setup) -> None:
    c = setup.client
    for user in ("enduser1", "agent7"):
        await c.account_import(user, nick=user.title())
    assert await c.account_check(["enduser1", "agent7", "ghost"]) == {
        "enduser1": True,
        "agent7": True,
        "ghost": False,
    }
    assert await c.create_group("500xx000001", "Case 00001001", owner="enduser1") == "500xx000001"
    added = await c.add_group_members("500xx000001", ["agent7", "enduser1"])
    assert (added.added, added.already_members) == (["agent7"], ["enduser1"])
    assert sorted(await c.get_group_members("500xx000001")) == ["agent7", "enduser1"]
    sent = [
        await c.send_group_message("500xx000001", text(f"line {i}"), from_account="agent7", random=i)
        for i in range(1, 26)
    ]
    assert [s.msg_seq for s in sent] == list(range(1, 26))
    newest = await c.get_group_history("500xx000001")
    assert [m.msg_seq for m in newest.messages] == list(range(6, 26))
    assert newest.next_req_msg_seq == 5
    pages = [page async for page in c.iter_group_history("500xx000001")]
    assert [[m.msg_seq for m in p.messages] for p in pages] == [list(range(6, 26)), [1, 2, 3, 4, 5]]
    assert pages[1].messages[0].msg_body == text("line 1")
    assert pages[1].messages[0].from_account == "agent7"


@pytest.mark.anyio
async def test_history_iterator_stops_at_the_last_seq_already_known(setup: Setup) -> None:
    c = setup.client
    await c.create_group("g", "G")
    for i in range(30):
        await c.send_group_message("g", text(str(i)), random=i)
    pages = [page async for page in c.iter_group_history("g", stop_after_seq=24)]
    assert [[m.msg_seq for m in p.messages] for p in pages] == [[25, 26, 27, 28, 29, 30]]


@pytest.mark.anyio
async def test_group_info_reports_gone_groups_as_entries_not_errors(setup: Setup) -> None:
    c = setup.client
    await c.create_group("g1", "One")
    infos = await c.get_group_info(["g1", "never"])
    assert [(i.group_id, i.exists) for i in infos] == [("g1", True), ("never", False)]
    assert (infos[0].type, infos[0].name, infos[0].next_msg_seq) == ("Private", "One", 1)


# ---- errors ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_rate_limit_answers_are_retryable_and_the_worker_retries_not_the_client(setup: Setup) -> None:
    await setup.client.create_group("g", "G")
    setup.emulator.faults = Faults(forced_errors=["60007", "60007"])
    for _ in range(2):
        with pytest.raises(RetryableError) as caught:
            await setup.client.send_group_message("g", text("hi"), random=1)
        assert isinstance(caught.value, TencentIMRetryableError)
        assert caught.value.code == 60007
    assert (await setup.client.send_group_message("g", text("hi"), random=1)).msg_seq == 1


@pytest.mark.anyio
async def test_70050_asks_the_worker_to_wait_a_minute(setup: Setup) -> None:
    setup.emulator.faults = Faults(forced_errors=["70050"])
    with pytest.raises(RetryableError) as caught:
        await setup.client.account_import("u")
    assert caught.value.retry_after == 60


@pytest.mark.anyio
async def test_invalid_parameter_is_permanent_and_names_api_and_code(setup: Setup) -> None:
    with pytest.raises(PermanentError) as caught:
        await setup.client.create_group("@TGS#reserved", "G")
    message = str(caught.value)
    assert "group_open_http_svc/create_group" in message
    assert "10004" in message
    assert KEY not in message
    assert "eJ" not in message  # every UserSig starts with eJ (zlib header, base64)


@pytest.mark.anyio
async def test_group_id_taken_by_someone_else_is_permanent(setup: Setup) -> None:
    c = setup.client
    await c.account_import("alice")
    await c.account_import("bob")
    await c.create_group("case-1", "Alice's", owner="alice")
    with pytest.raises(TencentIMPermanentError) as caught:
        await c.create_group("case-1", "Bob's", owner="bob")
    assert caught.value.code == 10021


@pytest.mark.anyio
async def test_repeating_a_create_is_success_10025_for_our_own_group(setup: Setup) -> None:
    assert await setup.client.create_group("case-1", "Case") == "case-1"
    assert await setup.client.create_group("case-1", "Case") == "case-1"


@pytest.mark.anyio
async def test_repeating_a_create_with_an_end_user_owner_is_success(setup: Setup) -> None:
    await setup.client.account_import("enduser")
    await setup.client.create_group("case-1", "Case", owner="enduser")
    # Tencent answers 10021 here (the owner is not the caller); the client recognises its own group.
    assert await setup.client.create_group("case-1", "Case", owner="enduser") == "case-1"


@pytest.mark.anyio
async def test_member_already_in_group_and_gone_groups_are_idempotent_success(setup: Setup) -> None:
    c = setup.client
    await c.account_import("u1")
    await c.create_group("g", "G", members=["u1"])
    assert (await c.add_group_members("g", ["u1"])).already_members == ["u1"]
    assert await c.destroy_group("g") is True
    assert await c.destroy_group("g") is False
    await c.delete_group_members("g", ["u1"])  # nobody left to remove: success


@pytest.mark.anyio
async def test_member_that_could_not_be_added_is_reported_by_name(setup: Setup) -> None:
    await setup.client.create_group("g", "G")
    with pytest.raises(MembersNotAddedError) as caught:
        await setup.client.add_group_members("g", ["never-imported"])
    assert caught.value.failed == ["never-imported"]


@pytest.mark.anyio
async def test_history_of_a_destroyed_group_is_a_permanent_10010(setup: Setup) -> None:
    await setup.client.create_group("g", "G")
    await setup.client.send_group_message("g", text("bye"), random=1)
    await setup.client.destroy_group("g")
    with pytest.raises(TencentIMPermanentError) as caught:
        await setup.client.get_group_history("g")
    assert caught.value.code == 10010


@pytest.mark.anyio
async def test_same_idempotency_key_sends_once(setup: Setup) -> None:
    c = setup.client
    await c.create_group("g", "G")
    random = c.random_for("00aRM000001XyzA")
    first = await c.send_group_message("g", text("agent reply"), random=random)
    retry = await c.send_group_message("g", text("agent reply"), random=random)
    assert retry == first
    assert len((await c.get_group_history("g")).messages) == 1


def test_random_for_is_the_first_four_bytes_of_sha256() -> None:
    # sha256("abc") = ba7816bf...
    assert TencentIMClient.random_for("abc") == 0xBA7816BF


@pytest.mark.anyio
async def test_http_5xx_and_timeouts_are_retryable(setup: Setup) -> None:
    setup.emulator.faults = Faults(forced_errors=["http:502"])
    with pytest.raises(RetryableError, match="HTTP 502"):
        await setup.client.account_import("u")
    setup.emulator.faults = Faults(latency=0.5)
    app = create_app(TencentEmulatorConfig(SDKAPPID, KEY, ADMIN, faults=Faults(latency=0.5)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        slow = TencentIMClient(SDKAPPID, KEY, ADMIN, "http://tim.test", http=http, timeout=0.05)
        with pytest.raises(RetryableError, match="timed out"):
            await slow.account_import("u")


@pytest.mark.anyio
async def test_network_errors_are_retryable_and_do_not_leak_the_usersig() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}")

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        client = TencentIMClient(SDKAPPID, KEY, ADMIN, "http://tim.test", http=http)
        with pytest.raises(RetryableError) as caught:
            await client.account_import("u")
    assert "network error" in str(caught.value)
    assert "eJ" not in str(caught.value)
    assert "<redacted>" in str(caught.value)


# ---- UserSig lifecycle -----------------------------------------------------------------------


@pytest.mark.anyio
async def test_usersig_is_cached_then_renewed_at_80_percent_of_its_life(setup: Setup) -> None:
    c = setup.client
    await c.account_import("u1")
    await c.account_import("u2")
    assert c.usersig_generations == 1
    setup.client_clock.now += 0.79 * 86400
    await c.account_import("u3")
    assert c.usersig_generations == 1
    setup.client_clock.now += 0.02 * 86400
    await c.account_import("u4")
    assert c.usersig_generations == 2


@pytest.mark.anyio
async def test_expired_usersig_answer_makes_a_new_sig_and_retries_once(setup: Setup) -> None:
    setup.emulator.faults = Faults(forced_errors=["70001"])
    await setup.client.account_import("u1")
    assert setup.client.usersig_generations == 2
    assert "u1" in setup.emulator.state.accounts


@pytest.mark.anyio
async def test_usersig_rejected_again_after_renewal_is_permanent(setup: Setup) -> None:
    setup.emulator_clock.now += 2 * 86400  # the server's clock is far ahead: every sig is expired
    with pytest.raises(PermanentError, match="70001"):
        await setup.client.account_import("u1")
    assert setup.client.usersig_generations == 2


@pytest.mark.anyio
async def test_wrong_secret_key_is_a_permanent_70009() -> None:
    app = create_app(TencentEmulatorConfig(SDKAPPID, KEY, ADMIN))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        client = TencentIMClient(SDKAPPID, "not-the-key", ADMIN, "http://tim.test", http=http)
        with pytest.raises(TencentIMPermanentError) as caught:
            await client.account_import("u")
    assert caught.value.code == 70009
    assert "not-the-key" not in str(caught.value)


# ---- configuration helpers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "url"),
    [
        ("singapore", "https://adminapisgp.im.qcloud.com"),
        ("SGP", "https://adminapisgp.im.qcloud.com"),
        ("china", "https://console.tim.qq.com"),
        ("cn", "https://console.tim.qq.com"),
        ("Silicon Valley", "https://adminapiusa.im.qcloud.com"),
        ("frankfurt", "https://adminapiger.im.qcloud.com"),
        ("jakarta", "https://adminapiidn.im.qcloud.com"),
        ("tokyo", "https://adminapijpn.im.qcloud.com"),
        ("seoul", "https://adminapikr.im.qcloud.com"),
        ("india", "https://adminapiind.im.qcloud.com"),
    ],
)
def test_region_names_map_to_the_documented_domains(region: str, url: str) -> None:
    assert base_url_for_region(region) == url


def test_unknown_region_names_the_allowed_values_but_not_the_one_given() -> None:
    with pytest.raises(ValueError, match="singapore") as raised:
        base_url_for_region("mars")
    assert "mars" not in str(raised.value)


@pytest.mark.anyio
async def test_token_bucket_paces_calls_to_its_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    bucket = AsyncTokenBucket(2.0, monotonic=lambda: now[0], sleep=fake_sleep)
    for _ in range(4):
        await bucket.acquire()
    assert slept == [0.5, 0.5]  # two tokens in the bucket, then one every half second
