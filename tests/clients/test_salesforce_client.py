"""The gateway's Salesforce client against the emulator, through httpx's ASGI transport.

No mock of our own client: every call crosses a real HTTP exchange with the emulator, which
checks tokens, enforces limits and returns Salesforce's error bodies.
"""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulators.salesforce import SalesforceEmulator
from gateway import salesforce_ids
from gateway.clients.salesforce.client import SalesforceClient, split_comment
from gateway.clients.salesforce.errors import InvalidUserToken, SalesforceApiError, SalesforceRetryableError
from gateway.errors import ConfigurationError, PermanentError, RetryableError
from tests.support.salesforce import INSTANCE, client_for, other_private_key, rsa_pair

pytestmark = pytest.mark.anyio


def jwt_client(**options: Any) -> tuple[SalesforceClient, SalesforceEmulator]:
    return client_for(
        None,
        client_secret=None,
        jwt_private_key=rsa_pair()[0],
        jwt_username="integration.user@example.com",
        **options,
    )


# ---- authentication ----------------------------------------------------------------------
async def test_client_credentials_authenticate_and_create_a_case() -> None:
    client, emulator = client_for()

    case_id = await client.create_case({"Subject": "Help", "Origin": "Chat"})

    assert case_id.startswith("500")
    assert emulator.records.cases[case_id]["Subject"] == "Help"
    assert emulator.tokens.grants == ["client_credentials"]


async def test_jwt_bearer_authenticates_as_the_configured_user() -> None:
    client, emulator = jwt_client()

    case_id = await client.create_case({"Subject": "Via JWT"})

    assert emulator.tokens.grants == ["jwt_bearer"]
    assert emulator.records.cases[case_id]["CreatedById"] == emulator.integration_user.id


async def test_jwt_signed_with_the_wrong_key_is_a_permanent_error_naming_the_cause() -> None:
    client, _ = client_for(
        None,
        client_secret=None,
        jwt_private_key=other_private_key(),
        jwt_username="integration.user@example.com",
    )

    with pytest.raises(PermanentError, match="invalid_grant"):
        await client.create_case({})


async def test_a_wrong_client_secret_is_a_permanent_error_without_the_secret() -> None:
    client, _ = client_for(None, client_secret="not-the-secret")

    with pytest.raises(PermanentError, match="invalid_client") as caught:
        await client.create_case({})
    assert "not-the-secret" not in str(caught.value)


def test_a_client_without_credentials_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        SalesforceClient(INSTANCE, "id")


async def test_the_token_is_cached_across_calls() -> None:
    client, emulator = client_for()

    case_id = await client.create_case({})
    await client.get_case(case_id)
    await client.update_case(case_id, {"Subject": "x"})

    assert emulator.tokens.grants == ["client_credentials"]


async def test_an_expired_token_is_refreshed_exactly_once() -> None:
    client, emulator = client_for()
    case_id = await client.create_case({})
    emulator.tokens.expire_all()

    case = await client.get_case(case_id)

    assert case["Id"] == case_id
    assert emulator.tokens.grants == ["client_credentials", "client_credentials"]


async def test_a_second_401_in_the_same_call_is_an_error_not_a_loop() -> None:
    client, emulator = client_for()
    case_id = await client.create_case({})
    emulator.faults.forced_errors = ["INVALID_SESSION_ID", "INVALID_SESSION_ID", "INVALID_SESSION_ID"]

    with pytest.raises(PermanentError, match="INVALID_SESSION_ID"):
        await client.get_case(case_id)

    assert emulator.tokens.grants == ["client_credentials", "client_credentials"]
    assert emulator.faults.forced_errors == ["INVALID_SESSION_ID"]  # two attempts, no more


async def test_concurrent_calls_after_expiry_share_one_refresh() -> None:
    client, emulator = client_for()
    case_id = await client.create_case({})
    emulator.tokens.expire_all()

    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(client.get_case, case_id)

    assert emulator.tokens.grants == ["client_credentials", "client_credentials"]


# ---- error mapping -------------------------------------------------------------------------
async def test_request_limit_exceeded_is_retryable_with_a_backoff_hint() -> None:
    client, emulator = client_for()
    emulator.faults.forced_errors = ["REQUEST_LIMIT_EXCEEDED"]

    with pytest.raises(RetryableError) as caught:
        await client.create_case({})

    assert isinstance(caught.value, SalesforceRetryableError)
    assert caught.value.error_code == "REQUEST_LIMIT_EXCEEDED"
    assert caught.value.retry_after is not None
    assert caught.value.retry_after >= 60


@pytest.mark.parametrize("code", ["UNABLE_TO_LOCK_ROW", "UNKNOWN_EXCEPTION", "SERVER_UNAVAILABLE"])
async def test_lock_contention_and_server_errors_are_retryable(code: str) -> None:
    client, emulator = client_for()
    emulator.faults.forced_errors = [code]

    with pytest.raises(RetryableError, match=code):
        await client.create_case({})


@pytest.mark.parametrize("wrapper", ["CANNOT_EXECUTE_FLOW_TRIGGER", "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY"])
async def test_a_lock_that_fails_a_flow_or_trigger_inside_our_write_is_retryable(wrapper: str) -> None:
    client, emulator = client_for()
    emulator.faults.forced_errors = [f"{wrapper}>UNABLE_TO_LOCK_ROW"]

    with pytest.raises(RetryableError, match="caused by UNABLE_TO_LOCK_ROW") as caught:
        await client.update_case("500000000000001AAA", {"Status": "Working"})

    assert isinstance(caught.value, SalesforceRetryableError) and caught.value.error_code == wrapper


async def test_a_flow_that_fails_for_any_other_cause_is_permanent() -> None:
    client, emulator = client_for()
    emulator.faults.forced_errors = ["CANNOT_EXECUTE_FLOW_TRIGGER>FIELD_CUSTOM_VALIDATION_EXCEPTION"]

    with pytest.raises(PermanentError, match="CANNOT_EXECUTE_FLOW_TRIGGER"):
        await client.update_case("500000000000001AAA", {"Status": "Working"})


async def test_a_validation_error_is_permanent_with_code_message_and_fields() -> None:
    client, emulator = client_for()

    with pytest.raises(PermanentError) as caught:
        await client.create_case({"Status": "Resolved"})

    error = caught.value
    assert isinstance(error, SalesforceApiError)
    assert (error.status, error.error_code, error.fields) == (
        400,
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        ["Status"],
    )
    assert "bad value for restricted picklist field" in str(error)
    assert emulator.config.org_id[:15] + "!" not in str(error)  # no token in the message


async def test_a_missing_case_is_a_permanent_not_found() -> None:
    client, _ = client_for()

    with pytest.raises(SalesforceApiError, match="NOT_FOUND"):
        await client.get_case("500xx000004CaSeAAK")


async def test_a_malformed_id_is_refused_before_any_request() -> None:
    client, emulator = client_for()

    with pytest.raises(PermanentError, match="not a Salesforce id"):
        await client.get_case("../../oauth2/token")

    assert emulator.tokens.grants == []


async def test_a_slow_answer_times_out_as_retryable() -> None:
    client, emulator = client_for(None, timeout=0.05)
    await client.create_case({})
    emulator.faults.latency = 1.0

    with pytest.raises(RetryableError, match="timed out"):
        await client.create_case({})


async def test_network_errors_are_retryable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    client = SalesforceClient(INSTANCE, "id", client_secret="s", http=http)

    with pytest.raises(RetryableError, match="ConnectError"):
        await client.create_case({})


# ---- operations --------------------------------------------------------------------------
async def test_create_case_runs_assignment_rules_when_configured() -> None:
    assigned, emulator = client_for()
    kept, emulator_2 = client_for(None, auto_assign_on_create=False)

    assigned_id = await assigned.create_case({})
    kept_id = await kept.create_case({})

    assert emulator.records.cases[assigned_id]["OwnerId"] == emulator.support_queue.id
    assert emulator_2.records.cases[kept_id]["OwnerId"] == emulator_2.integration_user.id


async def test_update_case_never_reassigns_the_case() -> None:
    client, emulator = client_for()
    case_id = await client.create_case({})
    emulator.change_owner(case_id, emulator.admin_user.id)

    await client.update_case(case_id, {"Status": "Closed"})

    case = emulator.records.cases[case_id]
    assert (case["OwnerId"], case["IsClosed"]) == (emulator.admin_user.id, True)


async def test_case_comments_are_created_on_the_case() -> None:
    client, emulator = client_for()
    case_id = await client.create_case({})

    comment_id = await client.create_case_comment(case_id, "字" * 1333 + "a", is_published=True)

    comment = emulator.records.comments[comment_id]
    assert (comment["ParentId"], comment["IsPublished"]) == (case_id, True)


async def test_a_comment_over_4000_bytes_is_refused_before_sending() -> None:
    client, emulator = client_for()
    case_id = await client.create_case({})
    usage = emulator.api_usage

    with pytest.raises(PermanentError, match="4000"):
        await client.create_case_comment(case_id, "字" * 1334)

    assert emulator.api_usage == usage


async def test_an_uploaded_file_is_linked_to_the_case() -> None:
    client, emulator = client_for()
    case_id = await client.create_case({})

    version_id = await client.upload_file(
        case_id, "Transcript", "chat-1.txt", "第一行\nsecond line\n".encode()
    )

    assert version_id.startswith("068")
    files = emulator.records.files_of(case_id)
    assert [(f["Id"], f["Title"], f["PathOnClient"], f["_data"]) for f in files] == [
        (version_id, "Transcript", "chat-1.txt", "第一行\nsecond line\n".encode())
    ]


async def test_get_user_returns_name_email_and_username() -> None:
    client, emulator = client_for()

    user = await client.get_user(emulator.admin_user.id)

    assert (user.id, user.name, user.email, user.is_active) == (
        emulator.admin_user.id,
        "Emulator Admin",
        "admin@emulator.example.com",
        True,
    )


async def test_verify_user_token_names_the_agent_and_org() -> None:
    client, emulator = client_for()
    agent = emulator.directory.add_user("Ada Agent", "ada@example.com", "ada@acme.example")
    token = emulator.tokens.issue(agent.id, "emulator-client-id", grant="user")

    info = await client.verify_user_token(token.access_token)

    assert salesforce_ids.same(info.user_id, agent.id)
    assert salesforce_ids.same(info.organization_id, emulator.config.org_id)
    assert (info.username, info.name, info.email) == ("ada@acme.example", "Ada Agent", "ada@example.com")


async def test_verify_user_token_refuses_unknown_and_expired_tokens() -> None:
    client, emulator = client_for()
    agent = emulator.directory.add_user("Ada Agent", "ada@example.com", "ada@acme.example")
    token = emulator.tokens.issue(agent.id, "emulator-client-id", grant="user")
    emulator.tokens.expire_all()

    with pytest.raises(InvalidUserToken):
        await client.verify_user_token(token.access_token)
    with pytest.raises(InvalidUserToken):
        await client.verify_user_token("00Dnothing!x")


async def test_the_last_limit_info_is_kept() -> None:
    client, _ = client_for()

    await client.create_case({})

    assert client.api_usage == "api-usage=1/100000"


# ---- split_comment -------------------------------------------------------------------------
def test_split_comment_prefers_line_breaks() -> None:
    text = "a" * 3000 + "\n" + "b" * 3000

    assert split_comment(text) == ["a" * 3000 + "\n", "b" * 3000]


def test_split_comment_never_cuts_a_character() -> None:
    chunks = split_comment("字" * 2000)

    assert [len(c.encode()) for c in chunks] == [3999, 2001]


def test_split_comment_of_nothing_is_no_chunks() -> None:
    assert split_comment("") == []


@given(st.text(alphabet=st.sampled_from(["a", "字", "😀", "\n", "é", " "]), max_size=600), st.integers(4, 64))
def test_split_comment_chunks_fit_and_rejoin_to_the_text(text: str, limit: int) -> None:
    chunks = split_comment(text, limit)

    assert "".join(chunks) == text
    assert all(0 < len(c.encode()) <= limit for c in chunks)
