"""Faults per operation in the Salesforce emulator (emulators/faults.py, emulators/salesforce/operations.py).

One operation can be made to fail with its own queue of error codes, or to apply its write and
then lose the answer, the failure that idempotent writes exist for.
"""

from __future__ import annotations

import asyncio

import pytest

from emulators.faults import Faults
from emulators.salesforce import SalesforceEmulatorConfig
from tests.support.salesforce import asgi_client, bearer, emulator_app

pytestmark = pytest.mark.anyio

CASES = "/services/data/v65.0/sobjects/Case"
TOKEN = "/services/oauth2/token"


async def test_an_operations_own_errors_leave_other_operations_alone() -> None:
    app, emulator = emulator_app()
    emulator.faults.forced_errors_for = {"Case.update": ["UNABLE_TO_LOCK_ROW"]}
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config)
        created = await client.post(CASES, json={}, headers=headers)
        locked = await client.patch(f"{CASES}/{created.json()['id']}", json={}, headers=headers)
        then = await client.patch(f"{CASES}/{created.json()['id']}", json={}, headers=headers)
    assert created.status_code == 201
    assert (locked.status_code, locked.json()[0]["errorCode"]) == (400, "UNABLE_TO_LOCK_ROW")
    assert then.status_code == 204


async def test_an_operations_own_errors_come_before_the_global_ones() -> None:
    app, emulator = emulator_app()
    emulator.faults.forced_errors = ["SERVER_UNAVAILABLE"]
    emulator.faults.forced_errors_for = {"Case.create": ["UNKNOWN_EXCEPTION"]}
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config)
        codes = [(await client.post(CASES, json={}, headers=headers)).status_code for _ in range(3)]
    assert codes == [500, 503, 201]


async def test_a_lost_answer_applies_the_write_and_the_caller_times_out() -> None:
    app, emulator = emulator_app()
    emulator.faults.lose_answers = {"Case.create": 1}
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await client.post(CASES, json={"Subject": "lost"}, headers=headers)
        answered = await client.post(CASES, json={"Subject": "answered"}, headers=headers)
    assert [c["Subject"] for c in emulator.records.cases.values()] == ["lost", "answered"]
    assert answered.status_code == 201
    assert emulator.faults.lose_answers == {"Case.create": 0}


async def test_a_held_answer_is_answered_after_lost_answer_seconds() -> None:
    app, emulator = emulator_app(SalesforceEmulatorConfig(faults=Faults(lost_answer_seconds=0.05)))
    emulator.faults.lose_answers = {"Case.create": 1}
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config)
        late = await client.post(CASES, json={}, headers=headers)
    assert late.status_code == 201
    assert late.json()["id"] in emulator.records.cases


async def test_a_lost_token_answer_still_issues_the_token() -> None:
    app, emulator = emulator_app()
    emulator.faults.lose_answers = {"token": 1}
    form = {"grant_type": "client_credentials"}
    auth = ("emulator-client-id", "emulator-client-secret")
    async with asgi_client(app) as client:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await client.post(TOKEN, data=form, auth=auth)
    assert emulator.tokens.grants == ["client_credentials"]


@pytest.mark.parametrize(
    ("code", "status", "body"),
    [
        ("invalid_grant", 400, {"error": "invalid_grant", "error_description": "injected fault"}),
        ("http:503", 503, None),
    ],
)
async def test_forced_token_errors_answer_in_the_oauth_shape_or_as_a_bare_status(
    code: str, status: int, body: dict[str, str] | None
) -> None:
    app, emulator = emulator_app()
    emulator.faults.forced_errors_for = {"token": [code]}
    form = {"grant_type": "client_credentials"}
    async with asgi_client(app) as client:
        answer = await client.post(TOKEN, data=form, auth=("emulator-client-id", "emulator-client-secret"))
    assert answer.status_code == status
    assert (answer.json() if body else answer.content) == (body or b"")
    assert emulator.tokens.grants == []


async def test_global_forced_errors_do_not_touch_the_token_endpoint() -> None:
    app, emulator = emulator_app()
    emulator.faults.forced_errors = ["SERVER_UNAVAILABLE"]
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config)
        failed = await client.post(CASES, json={}, headers=headers)
    assert failed.status_code == 503


async def test_the_test_api_sets_per_operation_knobs_and_shows_them() -> None:
    app, emulator = emulator_app()
    knobs = {"forced_errors_for": {"query": ["UNABLE_TO_LOCK_ROW"]}, "lose_answers": {"Case.upsert": 2}}
    async with asgi_client(app) as client:
        answer = await client.put("/_emulator/faults", json=knobs)
        shown = (await client.get("/_emulator/faults")).json()
    assert answer.status_code == 200
    assert (shown["forced_errors_for"], shown["lose_answers"]) == (
        knobs["forced_errors_for"],
        {"Case.upsert": 2},
    )
    assert shown["lost_answer_seconds"] == 3600.0
    assert emulator.faults.lose_answers == {"Case.upsert": 2}


@pytest.mark.parametrize(
    ("knobs", "named"),
    [
        ({"lose_answers": {"Case.insert": 1}}, "Case.insert"),
        ({"forced_errors_for": {"Case.create": "UNABLE_TO_LOCK_ROW"}}, "forced_errors_for"),
        ({"lose_answers": {"Case.upsert": -1}}, "lose_answers"),
        ({"lost_answer_seconds": "soon"}, "lost_answer_seconds"),
        ({"lose_every_answer": True}, "lose_every_answer"),
    ],
    ids=["unknown-operation", "codes-not-a-list", "negative-count", "seconds-not-a-number", "unknown-knob"],
)
async def test_the_test_api_refuses_bad_knobs_and_changes_nothing(
    knobs: dict[str, object], named: str
) -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        answer = await client.put("/_emulator/faults", json=knobs)
    assert answer.status_code == 400
    assert named in answer.json()[0]["message"]
    assert (emulator.faults.lose_answers, emulator.faults.forced_errors_for) == ({}, {})


def test_the_config_refuses_an_unknown_operation() -> None:
    with pytest.raises(ValueError, match=r"Case\.insert"):
        SalesforceEmulatorConfig(faults=Faults(lose_answers={"Case.insert": 1}))


async def test_faults_given_by_the_config_are_the_emulators_live_knobs() -> None:
    config = SalesforceEmulatorConfig(faults=Faults(forced_errors_for={"Case.get": ["INSUFFICIENT_ACCESS"]}))
    app, emulator = emulator_app(config)
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config)
        case_id = (await client.post(CASES, json={}, headers=headers)).json()["id"]
        refused = await client.get(f"{CASES}/{case_id}", headers=headers)
    assert (refused.status_code, refused.json()[0]["errorCode"]) == (403, "INSUFFICIENT_ACCESS")
    assert emulator.faults is config.faults
