"""Upsert of a Case by its external id ``IM_Ticket_Id__c`` (docs/salesforce.md#upsert-by-external-id).

No match inserts (201, ``created: true``), one match updates (200, ``created: false``), several
answer 300 and write nothing; ``Sforce-Auto-Assign`` acts on either branch as on a create or an
update; the field is unique and case-insensitive.
"""

from __future__ import annotations

import asyncio

import pytest

from emulators.salesforce import SalesforceEmulatorConfig
from tests.support.salesforce import asgi_client, bearer, emulator_app

pytestmark = pytest.mark.anyio

CASES = "/services/data/v65.0/sobjects/Case"
TICKET_ID = "7d2c1a9e-4f1b-4c56-9a43-0c1d2e3f4a5b"
TICKET = f"{CASES}/IM_Ticket_Id__c/{TICKET_ID}"
QUIET = {"Sforce-Auto-Assign": "FALSE"}


async def test_an_unknown_ticket_inserts_a_case_and_answers_201_created() -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        answer = await client.patch(
            TICKET, json={"Subject": "Help"}, headers=await bearer(client, emulator.config)
        )
    body = answer.json()
    assert answer.status_code == 201
    assert body == {"id": body["id"], "success": True, "errors": [], "created": True}
    case = emulator.records.cases[body["id"]]
    assert (case["Subject"], case["IM_Ticket_Id__c"]) == ("Help", TICKET_ID)


async def test_a_known_ticket_updates_its_case_and_answers_200_not_created() -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config)
        first = await client.patch(TICKET, json={"Subject": "Help"}, headers=headers)
        second = await client.patch(TICKET, json={"Subject": "More help"}, headers=headers)
    assert second.status_code == 200
    assert second.json() == {"id": first.json()["id"], "success": True, "errors": [], "created": False}
    [case] = emulator.records.cases.values()
    assert case["Subject"] == "More help"


async def test_the_ticket_id_matches_in_any_letter_case() -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config)
        first = await client.patch(TICKET, json={}, headers=headers)
        upper = await client.patch(f"{CASES}/IM_Ticket_Id__c/{TICKET_ID.upper()}", json={}, headers=headers)
    assert (upper.status_code, upper.json()["id"]) == (200, first.json()["id"])
    assert len(emulator.records.cases) == 1


async def test_an_insert_runs_assignment_rules_unless_told_not_to() -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config)
        assigned = await client.patch(f"{CASES}/IM_Ticket_Id__c/t-1", json={}, headers=headers)
        kept = await client.patch(f"{CASES}/IM_Ticket_Id__c/t-2", json={}, headers=headers | QUIET)
    assert emulator.records.cases[assigned.json()["id"]]["OwnerId"] == emulator.support_queue.id
    assert emulator.records.cases[kept.json()["id"]]["OwnerId"] == emulator.integration_user.id


async def test_an_update_with_auto_assign_false_keeps_the_owner() -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config)
        case_id = (await client.patch(TICKET, json={}, headers=headers)).json()["id"]
        emulator.change_owner(case_id, emulator.admin_user.id)
        await client.patch(TICKET, json={"Subject": "Still yours"}, headers=headers | QUIET)
    assert emulator.records.cases[case_id]["OwnerId"] == emulator.admin_user.id


async def test_an_update_without_auto_assign_false_reassigns_like_any_rest_update() -> None:
    """The header is documented for created *or updated* Cases; the update branch is an update."""
    config = SalesforceEmulatorConfig()
    config.outbound.url = "http://gateway.test"
    config.outbound.paused = True
    app, emulator = emulator_app(config)
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config)
        case_id = (await client.patch(TICKET, json={}, headers=headers | QUIET)).json()["id"]
        emulator.change_owner(case_id, emulator.admin_user.id)  # an agent takes it
        taken = len(emulator.outbound.pending())
        await client.patch(TICKET, json={"Subject": "Taken back"}, headers=headers)
    assert emulator.records.cases[case_id]["OwnerId"] == emulator.support_queue.id
    assert [p.trigger for p in emulator.outbound.pending()[taken:]] == ["case-owner-changed"]
    await emulator.outbound.aclose()


async def test_an_insert_sends_no_outbound_message_and_a_closing_update_does() -> None:
    config = SalesforceEmulatorConfig()
    config.outbound.url = "http://gateway.test"
    config.outbound.paused = True
    app, emulator = emulator_app(config)
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config) | QUIET
        await client.patch(TICKET, json={"Subject": "New"}, headers=headers)
        inserted = [p.trigger for p in emulator.outbound.pending()]
        await client.patch(TICKET, json={"Status": "Closed"}, headers=headers)
    assert inserted == []
    assert [p.trigger for p in emulator.outbound.pending()] == ["case-closed"]
    await emulator.outbound.aclose()


async def test_a_retry_after_a_lost_answer_finds_the_same_case() -> None:
    app, emulator = emulator_app()
    emulator.faults.lose_answers = {"Case.upsert": 1}
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config) | QUIET
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await client.patch(TICKET, json={"Subject": "Help"}, headers=headers)
        retried = await client.patch(TICKET, json={"Subject": "Help"}, headers=headers)
    [case] = emulator.records.cases.values()
    assert (retried.status_code, retried.json()["created"], retried.json()["id"]) == (200, False, case["Id"])


async def test_several_matches_answer_300_with_their_urls_and_write_nothing() -> None:
    app, emulator = emulator_app()
    for case_id in ("500xx000004CaSe", "500xx000004CaSf"):
        emulator.records.seed_case({"Id": case_id, "IM_Ticket_Id__c": TICKET_ID, "Subject": "twin"})
    async with asgi_client(app) as client:
        answer = await client.patch(
            TICKET, json={"Subject": "which?"}, headers=await bearer(client, emulator.config)
        )
    assert answer.status_code == 300
    assert sorted(answer.json()) == sorted(f"{CASES}/{i}" for i in emulator.records.cases)
    assert {c["Subject"] for c in emulator.records.cases.values()} == {"twin"}


@pytest.mark.parametrize(
    ("path", "body", "status", "error"),
    [
        pytest.param(f"{CASES}/Nope__c/1", {}, 404, "NOT_FOUND", id="unknown-field"),
        pytest.param(f"{CASES}/Subject/1", {}, 400, "INVALID_FIELD", id="not-an-external-id"),
        pytest.param(TICKET, {"IM_Ticket_Id__c": TICKET_ID}, 400, "INVALID_FIELD", id="external-id-in-body"),
        pytest.param(f"{CASES}/IM_Ticket_Id__c/{'x' * 65}", {}, 400, "STRING_TOO_LONG", id="value-too-long"),
    ],
)  # fmt: skip
async def test_an_upsert_salesforce_refuses_names_its_error_and_writes_nothing(
    path: str, body: dict[str, str], status: int, error: str
) -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        answer = await client.patch(path, json=body, headers=await bearer(client, emulator.config))
    assert answer.status_code == status
    assert answer.json()[0]["errorCode"] == error
    assert emulator.records.cases == {}


async def test_a_second_case_with_the_same_ticket_id_is_a_duplicate_value() -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config)
        first = await client.post(CASES, json={"IM_Ticket_Id__c": TICKET_ID}, headers=headers)
        again = await client.post(CASES, json={"IM_Ticket_Id__c": TICKET_ID.upper()}, headers=headers)
    assert again.status_code == 400
    message = (
        f"duplicate value found: IM_Ticket_Id__c duplicates value on record with id: {first.json()['id']}"
    )
    assert again.json() == [{"message": message, "errorCode": "DUPLICATE_VALUE", "fields": []}]
    assert len(emulator.records.cases) == 1
