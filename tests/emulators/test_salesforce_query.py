"""SOQL through the Query resource (docs/salesforce.md#soql-query): the subset the gateway needs.

Answers have Salesforce's shape and paging; strings follow SOQL's escapes and compare
case-insensitively; anything outside the subset is MALFORMED_QUERY rather than a guess.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from emulators.salesforce import SalesforceEmulator, SalesforceEmulatorConfig
from tests.support.salesforce import asgi_client, bearer, emulator_app

pytestmark = pytest.mark.anyio

QUERY = "/services/data/v65.0/query"
_LOCATION = "FirstPublishLocationId"
CASES = "/services/data/v65.0/sobjects/Case"


async def _ask(
    soql: str, subjects: tuple[str | None, ...] = (), config: SalesforceEmulatorConfig | None = None
) -> tuple[httpx.Response, SalesforceEmulator]:
    """Create Cases with these subjects, then run ``soql``."""
    app, emulator = emulator_app(config)
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config) | {"Sforce-Auto-Assign": "FALSE"}
        for subject in subjects:
            await client.post(CASES, json={"Subject": subject}, headers=headers)
        answer = await client.get(QUERY, params={"q": soql}, headers=headers)
    return answer, emulator


def _subjects(answer: httpx.Response) -> list[Any]:
    return [r["Subject"] for r in answer.json()["records"]]


async def test_an_answer_has_total_size_done_and_records_with_attributes() -> None:
    answer, emulator = await _ask("SELECT Id, Subject, IsClosed FROM Case", ("Help",))
    [case_id] = emulator.records.cases
    assert answer.status_code == 200
    assert answer.json() == {
        "totalSize": 1,
        "done": True,
        "records": [
            {
                "attributes": {"type": "Case", "url": f"{CASES}/{case_id}"},
                "Id": case_id,
                "Subject": "Help",
                "IsClosed": False,
            }
        ],
    }


async def test_names_and_keywords_are_case_insensitive_and_fields_come_back_by_their_api_names() -> None:
    answer, _ = await _ask("select subject, im_ticket_id__c from CASE where SUBJECT = 'help'", ("Help",))
    [record] = answer.json()["records"]
    assert (record["attributes"]["type"], record["Subject"], record["IM_Ticket_Id__c"]) == (
        "Case",
        "Help",
        None,
    )


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Subject = 'printer'", ["Printer", "PRINTER"]),
        ("Subject != 'printer'", ["Broken printer", "Bob's BBQ", None]),
        ("Subject LIKE '%print%'", ["Printer", "PRINTER", "Broken printer"]),
        ("Subject LIKE 'p_inter'", ["Printer", "PRINTER"]),
        ("Subject IN ('printer', 'Bob\\'s BBQ')", ["Printer", "PRINTER", "Bob's BBQ"]),
        ("Subject = null", [None]),
        ("Subject != null AND Subject LIKE 'B%'", ["Broken printer", "Bob's BBQ"]),
        ("IsClosed = false AND Subject = 'Bob\\'s BBQ'", ["Bob's BBQ"]),
        ("IsClosed = true", []),
    ],
)
async def test_conditions_select_the_records_salesforce_would(where: str, expected: list[str | None]) -> None:
    subjects = ("Printer", "PRINTER", "Broken printer", "Bob's BBQ", None)
    answer, _ = await _ask(f"SELECT Subject FROM Case WHERE {where}", subjects)
    assert answer.status_code == 200, answer.text
    assert _subjects(answer) == expected


@pytest.mark.parametrize(
    ("literal", "stored"),
    [
        ("'Bob\\'s BBQ'", "Bob's BBQ"),
        ("'back\\\\slash'", "back\\slash"),
        ("'two\\nlines'", "two\nlines"),
        ("'tab\\there'", "tab\there"),
        ("'\\\"quoted\\\"'", '"quoted"'),
        ("'caf\\u00e9'", "café"),
    ],
)
async def test_string_literals_take_soqls_escape_sequences(literal: str, stored: str) -> None:
    answer, _ = await _ask(f"SELECT Subject FROM Case WHERE Subject = {literal}", (stored, "other"))
    assert _subjects(answer) == [stored]


async def test_escaped_wildcards_in_like_match_themselves() -> None:
    answer, _ = await _ask(
        "SELECT Subject FROM Case WHERE Subject LIKE '100\\%%'", ("100% sure", "1000 ways")
    )
    assert _subjects(answer) == ["100% sure"]


async def test_order_by_sorts_case_insensitively_with_nulls_first_and_limit_cuts() -> None:
    subjects = ("b", None, "C", "a")
    ascending, _ = await _ask("SELECT Subject FROM Case ORDER BY Subject", subjects)
    descending, _ = await _ask("SELECT Subject FROM Case ORDER BY Subject DESC NULLS LAST LIMIT 3", subjects)
    assert _subjects(ascending) == [None, "a", "b", "C"]
    assert _subjects(descending) == ["C", "b", "a"]
    assert descending.json()["totalSize"] == 3


async def test_an_id_matches_in_its_15_and_18_character_forms() -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config)
        case_id = (await client.post(CASES, json={"Subject": "x"}, headers=headers)).json()["id"]
        short = await client.get(
            QUERY, params={"q": f"SELECT Id FROM Case WHERE Id = '{case_id[:15]}'"}, headers=headers
        )
    assert [r["Id"] for r in short.json()["records"]] == [case_id]


async def test_users_comments_and_files_can_be_queried() -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config)
        case_id = (await client.post(CASES, json={}, headers=headers)).json()["id"]
        await client.post(
            "/services/data/v65.0/sobjects/CaseComment",
            json={"ParentId": case_id, "CommentBody": "hi"},
            headers=headers,
        )
        version = {"PathOnClient": "a.txt", "VersionData": "aGk=", "FirstPublishLocationId": case_id}
        version_id = (
            await client.post("/services/data/v65.0/sobjects/ContentVersion", json=version, headers=headers)
        ).json()["id"]
        users = await client.get(
            QUERY,
            params={"q": "SELECT Id, Name FROM User WHERE Email = 'admin@emulator.example.com'"},
            headers=headers,
        )
        comments = await client.get(
            QUERY,
            params={"q": f"SELECT CommentBody FROM CaseComment WHERE ParentId = '{case_id}'"},
            headers=headers,
        )
        files = await client.get(
            QUERY,
            params={"q": f"SELECT Title, VersionData FROM ContentVersion WHERE {_LOCATION} = '{case_id}'"},
            headers=headers,
        )
    assert [(u["Id"], u["Name"]) for u in users.json()["records"]] == [
        (emulator.admin_user.id, "Emulator Admin")
    ]
    assert [c["CommentBody"] for c in comments.json()["records"]] == ["hi"]
    [file] = files.json()["records"]
    assert (file["Title"], file["VersionData"]) == (
        "a",
        f"/services/data/v65.0/sobjects/ContentVersion/{version_id}/VersionData",
    )


async def test_answers_past_the_batch_size_page_through_next_records_url() -> None:
    app, emulator = emulator_app(SalesforceEmulatorConfig(query_batch_size=2))
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config) | {"Sforce-Auto-Assign": "FALSE"}
        for subject in "abcde":
            await client.post(CASES, json={"Subject": subject}, headers=headers)
        pages = [
            (
                await client.get(
                    QUERY, params={"q": "SELECT Subject FROM Case ORDER BY Subject"}, headers=headers
                )
            ).json()
        ]
        while "nextRecordsUrl" in pages[-1]:
            pages.append((await client.get(pages[-1]["nextRecordsUrl"], headers=headers)).json())
    assert [[r["Subject"] for r in p["records"]] for p in pages] == [["a", "b"], ["c", "d"], ["e"]]
    assert [(p["totalSize"], p["done"]) for p in pages] == [(5, False), (5, False), (5, True)]
    locator = pages[0]["nextRecordsUrl"].rsplit("/", 1)[1]
    assert locator.startswith("01g") and locator.endswith("-2")
    assert pages[1]["nextRecordsUrl"].endswith(locator.replace("-2", "-4"))


NO_FIELDS_KEY = None


@pytest.mark.parametrize(
    ("soql", "error", "detail"),
    [
        pytest.param(
            "SELECT Id FROM Case WHERE Subject = 'a' OR Subject = 'b'",
            "MALFORMED_QUERY",
            "unexpected token: 'OR'",
            id="or",
        ),
        pytest.param(
            "SELECT Id FROM Case WHERE (Subject = 'a')",
            "MALFORMED_QUERY",
            "unexpected token: '('",
            id="parentheses",
        ),
        pytest.param(
            "SELECT Owner.Name FROM Case",
            "MALFORMED_QUERY",
            "no viable alternative at character '.'",
            id="relationship",
        ),
        pytest.param("SELECT COUNT(Id) FROM Case", "MALFORMED_QUERY", "unexpected token: '('", id="function"),
        pytest.param(
            "SELECT Id FROM Case WHERE CreatedDate > 2026-01-01T00:00:00Z",
            "MALFORMED_QUERY",
            "no viable alternative at character '-'",
            id="date-literal",
        ),
        pytest.param(
            "SELECT Id FROM Case LIMIT 1 OFFSET 1",
            "MALFORMED_QUERY",
            "unexpected token: 'OFFSET'",
            id="offset",
        ),
        pytest.param(
            "SELECT Id FROM Case WHERE Subject = 'open",
            "MALFORMED_QUERY",
            "unexpected token: '<EOF>'",
            id="unterminated",
        ),
        pytest.param(
            "SELECT Id FROM Case WHERE Subject = 'a\\qb'",
            "MALFORMED_QUERY",
            "Illegal character sequence '\\q'",
            id="bad-escape",
        ),
        pytest.param(
            "SELECT Id FROM Case WHERE Subject = '100\\%'",
            "MALFORMED_QUERY",
            "are for LIKE",
            id="wildcard-escape-outside-like",
        ),
        pytest.param(
            "SELECT Id, id FROM Case", "MALFORMED_QUERY", "duplicate field selected: Id", id="duplicate-field"
        ),
        pytest.param(
            "SELECT Nope__c FROM Case",
            "INVALID_FIELD",
            "No such column 'Nope__c' on entity 'Case'",
            id="unknown-field",
        ),
        pytest.param(
            "SELECT Comments FROM Case", "INVALID_FIELD", "No such column 'Comments'", id="write-only-field"
        ),
        pytest.param(
            "SELECT Id FROM Case WHERE Description = 'x'",
            "INVALID_FIELD",
            "can not be filtered",
            id="long-text-filter",
        ),
        pytest.param(
            "SELECT Id FROM Case WHERE IsClosed = 'true'",
            "INVALID_FIELD",
            "must be of type boolean and should not be enclosed in quotes",
            id="quoted-boolean",
        ),
        pytest.param(
            "SELECT Id FROM Case WHERE Subject = true",
            "INVALID_FIELD",
            "must be of type string and should be enclosed in quotes",
            id="bare-boolean-for-a-string",
        ),
        pytest.param(
            "SELECT Id FROM Case WHERE IsClosed LIKE 'x'",
            "INVALID_FIELD",
            "invalid operator on boolean field",
            id="like-on-boolean",
        ),
        pytest.param(
            "SELECT Id FROM Lead", "INVALID_TYPE", "sObject type 'Lead' is not supported", id="unknown-object"
        ),
        pytest.param(
            "SELECT Id FROM Case WHERE Id = 'abc'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "invalid ID field: abc",
            id="malformed-id",
        ),
    ],
)
async def test_a_query_salesforce_refuses_names_its_error_and_points_at_the_spot(
    soql: str, error: str, detail: str
) -> None:
    answer, _ = await _ask(soql)
    assert answer.status_code == 400
    [refusal] = answer.json()
    assert refusal["errorCode"] == error
    assert refusal.get("fields", NO_FIELDS_KEY) is NO_FIELDS_KEY
    _, line, caret, where, last = refusal["message"].split("\n", 4)
    assert line == soql
    assert where == f"ERROR at Row:1:Column:{len(caret)}"
    assert detail in last


async def test_the_caret_points_at_the_unknown_field() -> None:
    answer, _ = await _ask("SELECT Id, Nope__c FROM Case")
    assert answer.json()[0]["message"].startswith(
        "\nSELECT Id, Nope__c FROM Case\n           ^\nERROR at Row:1:Column:12\nNo such column 'Nope__c'"
    )


async def test_a_missing_query_string_is_malformed() -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        answer = await client.get(QUERY, headers=await bearer(client, emulator.config))
    assert (answer.status_code, answer.json()[0]["errorCode"]) == (400, "MALFORMED_QUERY")


async def test_an_unknown_query_locator_is_refused() -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        answer = await client.get(
            f"{QUERY}/01gxx0000000001AAA-2000", headers=await bearer(client, emulator.config)
        )
    assert (answer.status_code, answer.json()[0]["errorCode"]) == (400, "INVALID_QUERY_LOCATOR")
