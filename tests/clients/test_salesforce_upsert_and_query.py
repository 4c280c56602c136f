"""The client's upsert by external id and its SOQL queries, against the emulator in-process.

The promise under test: one external id is one Case, however often the write is retried, and a
retry never reassigns the Case; queries return every record, page after page, and values reach
SOQL only through ``soql_literal``.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulators.faults import Faults
from emulators.salesforce import SalesforceEmulator, SalesforceEmulatorConfig
from gateway.clients.salesforce.errors import SalesforceApiError
from gateway.clients.salesforce.models import UpsertResult
from gateway.clients.salesforce.soql import soql_literal
from gateway.errors import PermanentError, RetryableError
from tests.support.salesforce import client_for, emulator_app

pytestmark = pytest.mark.anyio

FIELD = "IM_Ticket_Id__c"
KEY = "0b9e3c55-5d8a-4a43-9f54-2b8f6f0e7c11"


# ---- upsert_case -------------------------------------------------------------------------------
async def test_an_unknown_key_inserts_a_case_with_assignment_rules() -> None:
    client, emulator = client_for()

    result = await client.upsert_case(FIELD, KEY, {"Subject": "Help"})

    assert result == UpsertResult(id=result.id, created=True)
    case = emulator.records.cases[result.id]
    assert (case[FIELD], case["Subject"], case["OwnerId"]) == (KEY, "Help", emulator.support_queue.id)


async def test_inserting_without_auto_assign_keeps_the_integration_user_as_owner() -> None:
    client, emulator = client_for(None, auto_assign_on_create=False)

    result = await client.upsert_case(FIELD, KEY, {})

    assert emulator.records.cases[result.id]["OwnerId"] == emulator.integration_user.id


async def test_a_known_key_updates_the_same_case() -> None:
    client, emulator = client_for()
    first = await client.upsert_case(FIELD, KEY, {"Subject": "Help"})

    second = await client.upsert_case(FIELD, KEY, {"Subject": "More help"})

    assert second == UpsertResult(id=first.id, created=False)
    [case] = emulator.records.cases.values()
    assert case["Subject"] == "More help"


async def test_updating_through_upsert_never_reassigns_the_case() -> None:
    client, emulator = client_for()
    result = await client.upsert_case(FIELD, KEY, {})
    emulator.change_owner(result.id, emulator.admin_user.id)  # an agent took the Case

    await client.upsert_case(FIELD, KEY, {"Subject": "Follow-up"})

    assert emulator.records.cases[result.id]["OwnerId"] == emulator.admin_user.id


async def test_a_lost_answer_then_a_retry_leaves_one_case_owned_as_before() -> None:
    client, emulator = client_for(None, timeout=0.2)
    emulator.faults.lose_answers = {"Case.upsert": 1}

    with pytest.raises(RetryableError, match="timed out"):
        await client.upsert_case(FIELD, KEY, {"Subject": "Help"})
    [case] = emulator.records.cases.values()  # the lost write did happen
    emulator.change_owner(case["Id"], emulator.admin_user.id)
    retried = await client.upsert_case(FIELD, KEY, {"Subject": "Help"})

    assert retried == UpsertResult(id=case["Id"], created=False)
    assert len(emulator.records.cases) == 1
    assert case["OwnerId"] == emulator.admin_user.id


async def test_the_key_is_percent_encoded_into_the_path() -> None:
    client, emulator = client_for()
    key = "case #1? a&b=c 100% é"

    result = await client.upsert_case(FIELD, key, {})
    again = await client.upsert_case(FIELD, key, {})

    assert emulator.records.cases[result.id][FIELD] == key
    assert again == UpsertResult(id=result.id, created=False)


async def test_several_cases_with_the_key_are_a_permanent_error_naming_the_cause() -> None:
    client, emulator = client_for()
    for case_id in ("500xx000004CaSe", "500xx000004CaSf"):
        emulator.records.seed_case({"Id": case_id, FIELD: KEY})

    with pytest.raises(SalesforceApiError, match="more than one Case has IM_Ticket_Id__c") as caught:
        await client.upsert_case(FIELD, KEY, {"Subject": "which?"})

    assert (caught.value.status, caught.value.error_code) == (300, "MULTIPLE_CHOICES")
    assert {c["Subject"] for c in emulator.records.cases.values()} == {None}


class TwinBeforeUpsert(httpx.AsyncBaseTransport):
    """Forwards to the emulator, but first seeds two Cases with the key, as a racing writer could."""

    def __init__(self, emulator: SalesforceEmulator, inner: httpx.AsyncBaseTransport) -> None:
        self._emulator = emulator
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            for case_id in ("500xx000004CaSe", "500xx000004CaSf"):
                self._emulator.records.seed_case({"Id": case_id, FIELD: KEY})
        return await self._inner.handle_async_request(request)


async def test_a_300_from_the_upsert_itself_is_the_same_permanent_error() -> None:
    app, emulator = emulator_app()
    transport = TwinBeforeUpsert(emulator, httpx.ASGITransport(app=app))
    client, _ = client_for(None, transport=transport)

    with pytest.raises(SalesforceApiError, match="more than one Case") as caught:
        await client.upsert_case(FIELD, KEY, {})

    assert caught.value.status == 300


@pytest.mark.parametrize(
    ("field", "key", "fields", "reason"),
    [
        ("IM_Ticket_Id__c/../Id", KEY, {}, "not a Salesforce field name"),
        (FIELD, "", {}, "empty"),
        (FIELD, KEY, {"im_ticket_id__c": KEY}, "must not be among the fields"),
    ],
    ids=["field-name-with-a-path", "empty-key", "key-among-the-fields"],
)
async def test_an_upsert_that_cannot_be_right_is_refused_before_any_request(
    field: str, key: str, fields: dict[str, str], reason: str
) -> None:
    client, emulator = client_for()

    with pytest.raises(PermanentError, match=reason):
        await client.upsert_case(field, key, fields)

    assert emulator.tokens.grants == []


async def test_an_upsert_refused_by_salesforce_keeps_its_error_code() -> None:
    client, _ = client_for()

    with pytest.raises(SalesforceApiError) as caught:
        await client.upsert_case("Subject", KEY, {})

    assert (caught.value.status, caught.value.error_code) == (400, "INVALID_FIELD")


async def test_a_lock_on_the_upsert_alone_is_retryable() -> None:
    client, emulator = client_for()
    emulator.faults.forced_errors_for = {"Case.upsert": ["UNABLE_TO_LOCK_ROW"]}

    with pytest.raises(RetryableError, match="UNABLE_TO_LOCK_ROW"):
        await client.upsert_case(FIELD, KEY, {})
    result = await client.upsert_case(FIELD, KEY, {})

    assert result.created is True


# ---- query -------------------------------------------------------------------------------------
async def test_a_query_returns_records_without_attributes() -> None:
    client, _ = client_for()
    case_id = await client.create_case({"Subject": "Help"})

    records = await client.query("SELECT Id, Subject, IsClosed FROM Case")

    assert records == [{"Id": case_id, "Subject": "Help", "IsClosed": False}]


async def test_a_query_follows_every_page() -> None:
    client, emulator = client_for(SalesforceEmulatorConfig(query_batch_size=2))
    for subject in "abcde":
        await client.create_case({"Subject": subject})
    usage = emulator.api_usage

    records = await client.query("SELECT Subject FROM Case ORDER BY Subject")

    assert [r["Subject"] for r in records] == ["a", "b", "c", "d", "e"]
    assert emulator.api_usage - usage == 3  # three pages, three calls


async def test_a_malformed_query_is_a_permanent_error_with_its_code() -> None:
    client, _ = client_for()

    with pytest.raises(SalesforceApiError) as caught:
        await client.query("SELECT Id FROM Case WHERE Subject = 'a' OR Subject = 'b'")

    assert (caught.value.status, caught.value.error_code) == (400, "MALFORMED_QUERY")


async def test_a_query_that_times_out_is_retryable() -> None:
    config = SalesforceEmulatorConfig(faults=Faults(lose_answers={"query": 1}))
    client, _ = client_for(config, timeout=0.2)

    with pytest.raises(RetryableError, match="timed out"):
        await client.query("SELECT Id FROM Case")
    assert await client.query("SELECT Id FROM Case") == []


# ---- soql_literal ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("plain", "'plain'"),
        ("Bob's", "'Bob\\'s'"),
        ("back\\slash", "'back\\\\slash'"),
        ('say "hi"', "'say \\\"hi\\\"'"),
        ("two\nlines\ttab\r", "'two\\nlines\\ttab\\r'"),
        ("bell\x07nul\x00", "'bell\\u0007nul\\u0000'"),
        ("100% _sure_", "'100% _sure_'"),
        ("客服 😀", "'客服 😀'"),
    ],
)
def test_soql_literal_quotes_and_escapes(value: str, literal: str) -> None:
    assert soql_literal(value) == literal


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40))
def test_a_value_quoted_by_soql_literal_finds_exactly_its_record(value: str) -> None:
    async def scenario() -> list[str]:
        client, _ = client_for()
        async with client:
            case_id = await client.create_case({"Subject": value})
            await client.create_case({"Subject": value + "x"})
            found = await client.query(f"SELECT Id FROM Case WHERE Subject = {soql_literal(value)}")
        return [case_id, *(r["Id"] for r in found)]

    case_id, *found = asyncio.run(scenario())
    assert found == [case_id]
