"""The Salesforce emulator answers like the real org (docs/salesforce.md, REST and OAuth): OAuth per cause,
REST errors in the fixtures' shapes, assignment rules, closing, userinfo, the test API — and
simple-salesforce, an independent client, can log in and create a Case against it.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
import jwt
import pytest
import requests
import uvicorn
from requests.adapters import HTTPAdapter
from simple_salesforce.api import Salesforce
from starlette.applications import Starlette

from emulators.salesforce import SalesforceEmulatorConfig
from emulators.salesforce import ids as sfids
from tests.support.salesforce import (
    INSTANCE,
    asgi_client,
    bearer,
    emulator_app,
    fixture_bytes,
    other_private_key,
    rsa_pair,
)

pytestmark = pytest.mark.anyio

CASES = "/services/data/v65.0/sobjects/Case"
COMMENTS = "/services/data/v65.0/sobjects/CaseComment"
TOKEN = "/services/oauth2/token"


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


def same_shape(actual: Any, sample: Any) -> None:
    """A REST error body has the sample's shape: a list of objects with the same keys."""
    assert isinstance(actual, list)
    assert [sorted(e) for e in actual] == [sorted(e) for e in sample]


def jwt_assertion(key: str | None = None, **overrides: object) -> str:
    claims: dict[str, object] = {
        "iss": "emulator-client-id",
        "sub": "integration.user@example.com",
        "aud": "https://login.salesforce.com",
        "exp": int(time.time()) + 180,
    }
    claims.update(overrides)
    return jwt.encode(claims, key or rsa_pair()[0], algorithm="RS256")


# ---- ids and config ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "sample_id",
    [
        "00Dxx0000001gPFEAY",
        "04kxx00000IMclsAAD",
        "500xx000004CaSeAAK",
        "00Gxx000000ImQuEAK",
        "001ak00000OQTieAAH",
    ],
)
def test_id_checksum_reproduces_the_suffix_of_sample_ids(sample_id: str) -> None:
    assert sfids.to18(sample_id[:15]) == sample_id


def test_minted_ids_are_18_characters_with_prefix_and_valid_checksum() -> None:
    factory = sfids.IdFactory(seed=1)
    minted = [factory.new(prefix) for prefix in ("500", "00a", "068", "069", "005", "00G", "04l", "04k")]
    assert all(len(i) == 18 and sfids.to18(i[:15]) == i for i in minted)
    assert [i[:3] for i in minted] == ["500", "00a", "068", "069", "005", "00G", "04l", "04k"]
    assert len(set(minted)) == len(minted)


def test_an_18_character_id_with_a_wrong_suffix_is_rejected() -> None:
    with pytest.raises(ValueError, match="checksum"):
        sfids.to18("500xx000004CaSeAAA")


def test_config_from_env_reads_credentials_cert_and_secret(tmp_path: Any) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text(rsa_pair()[1])
    environ = {
        "SF_CLIENT_ID": "cid",
        "SF_CLIENT_SECRET": "csecret",
        "SF_ORG_ID": "00Dxx0000001gPF",
        "SF_JWT_USERNAME": "bot@example.com",
        "SF_JWT_CERT_FILE": str(cert),
        "SF_OUTBOUND_SECRET": "hush",
    }
    config = SalesforceEmulatorConfig.from_env(environ, "http://127.0.0.1:8000")
    assert (config.client_id, config.client_secret, config.org_id) == ("cid", "csecret", "00Dxx0000001gPFEAY")
    assert config.jwt_username == "bot@example.com"
    assert config.jwt_public_key_pem == rsa_pair()[1]
    assert (config.outbound.url, config.outbound.secret) == ("http://127.0.0.1:8000", "hush")


def test_config_from_env_generates_a_valid_org_id_when_absent() -> None:
    config = SalesforceEmulatorConfig.from_env({}, None)
    assert config.org_id.startswith("00D")
    assert sfids.to18(config.org_id[:15]) == config.org_id


# ---- OAuth ---------------------------------------------------------------------------------
async def test_client_credentials_answer_has_the_documented_fields() -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        answer = await client.post(
            TOKEN,
            data={"grant_type": "client_credentials"},
            auth=("emulator-client-id", "emulator-client-secret"),
        )
    body = answer.json()
    assert answer.status_code == 200
    assert set(body) == {
        "access_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
        "signature",
        "scope",
    }
    assert body["access_token"].startswith(emulator.config.org_id[:15] + "!")
    assert body["instance_url"] == INSTANCE
    assert body["id"].endswith(f"/id/{emulator.config.org_id}/{emulator.integration_user.id}")
    assert body["token_type"] == "Bearer"


async def test_client_credentials_accepts_the_secret_in_the_form() -> None:
    app, _ = emulator_app()
    form = {
        "grant_type": "client_credentials",
        "client_id": "emulator-client-id",
        "client_secret": "emulator-client-secret",
    }
    async with asgi_client(app) as client:
        answer = await client.post(TOKEN, data=form)
    assert answer.status_code == 200


@pytest.mark.parametrize(
    ("auth", "base_url", "error", "description"),
    [
        (("nobody", "emulator-client-secret"), INSTANCE, "invalid_client_id", "client identifier invalid"),
        (("emulator-client-id", "wrong"), INSTANCE, "invalid_client", "invalid client credentials"),
        (
            ("emulator-client-id", "emulator-client-secret"),
            "https://login.salesforce.com",
            "invalid_grant",
            "request not supported on this domain",
        ),
    ],
    ids=["unknown-client", "wrong-secret", "login-host"],
)
async def test_client_credentials_errors_name_their_cause(
    auth: tuple[str, str], base_url: str, error: str, description: str
) -> None:
    app, _ = emulator_app()
    async with asgi_client(app, base_url) as client:
        answer = await client.post(TOKEN, data={"grant_type": "client_credentials"}, auth=auth)
    assert answer.status_code == 400
    assert answer.json() == {"error": error, "error_description": description}


async def test_jwt_bearer_with_the_configured_certificate_issues_a_token() -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        answer = await client.post(
            TOKEN,
            data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": jwt_assertion()},
        )
    assert answer.status_code == 200
    assert emulator.tokens.lookup(answer.json()["access_token"]) is not None


@pytest.mark.parametrize(
    ("assertion", "error", "description"),
    [
        (lambda: jwt_assertion(aud="https://acme.my.salesforce.com"), "invalid_grant", "invalid audience"),
        (
            lambda: jwt_assertion(sub="stranger@example.com"),
            "invalid_grant",
            "user hasn't approved this consumer",
        ),
        (lambda: jwt_assertion(exp=int(time.time()) - 5), "invalid_grant", "invalid assertion"),
        (lambda: jwt_assertion(other_private_key()), "invalid_grant", "invalid assertion"),
        (lambda: jwt_assertion(iss="other-app"), "invalid_client_id", "client identifier invalid"),
    ],
    ids=["audience", "unknown-user", "expired", "wrong-key", "wrong-issuer"],
)
async def test_jwt_bearer_errors_name_their_cause(assertion: Any, error: str, description: str) -> None:
    app, _ = emulator_app()
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion()}
    async with asgi_client(app) as client:
        answer = await client.post(TOKEN, data=form)
    assert answer.status_code == 400
    assert answer.json() == {"error": error, "error_description": description}


async def test_userinfo_returns_the_tokens_own_user() -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        agent = (
            await client.post(
                "/_emulator/users",
                json={"name": "Ada Agent", "email": "ada@example.com", "username": "ada@acme.example"},
            )
        ).json()
        token = (await client.post(f"/_emulator/users/{agent['id']}/token")).json()["access_token"]
        answer = await client.get("/services/oauth2/userinfo", headers={"Authorization": f"Bearer {token}"})
    claims = answer.json()
    assert answer.status_code == 200
    assert claims["user_id"] == agent["id"]
    assert claims["organization_id"] == emulator.config.org_id
    assert (claims["preferred_username"], claims["name"], claims["email"]) == (
        "ada@acme.example",
        "Ada Agent",
        "ada@example.com",
    )
    assert claims["sub"].endswith(f"/id/{emulator.config.org_id}/{agent['id']}")
    assert "{version}" in claims["urls"]["rest"]


async def test_userinfo_refuses_missing_unknown_and_expired_tokens() -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config)
        missing = await client.get("/services/oauth2/userinfo")
        unknown = await client.get("/services/oauth2/userinfo", headers={"Authorization": "Bearer 00Dnope!x"})
        emulator.tokens.expire_all()
        expired = await client.get("/services/oauth2/userinfo", headers=headers)
    assert (missing.status_code, unknown.status_code, expired.status_code) == (401, 403, 403)


# ---- REST gates ------------------------------------------------------------------------------
async def test_rest_without_a_token_answers_the_invalid_session_sample() -> None:
    app, _ = emulator_app()
    async with asgi_client(app) as client:
        answer = await client.get(f"{CASES}/500xx000004CaSeAAK")
    assert answer.status_code == 401
    assert answer.json() == fixture_json("error-invalid-session-id.json")


async def test_expired_tokens_get_invalid_session_id() -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config)
        emulator.tokens.expire_all()
        answer = await client.post(CASES, json={"Subject": "x"}, headers=headers)
    assert answer.status_code == 401
    assert answer.json()[0]["errorCode"] == "INVALID_SESSION_ID"


async def test_tokens_expire_after_the_configured_lifetime() -> None:
    app, emulator = emulator_app(SalesforceEmulatorConfig(token_lifetime=0.05))
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config)
        await anyio.sleep(0.06)
        answer = await client.post(CASES, json={}, headers=headers)
    assert answer.status_code == 401


@pytest.mark.parametrize(
    ("version", "status"), [("v30.0", 404), ("v31.0", 201), ("v68.0", 201), ("v69.0", 404)]
)
async def test_api_versions_31_to_68_are_served_others_are_not_found(version: str, status: int) -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config)
        answer = await client.post(f"/services/data/{version}/sobjects/Case", json={}, headers=headers)
    assert answer.status_code == status
    if status == 404:
        assert answer.json() == [
            {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
        ]


async def test_every_authenticated_answer_carries_sforce_limit_info() -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config)
        created = await client.post(CASES, json={}, headers=headers)
        refused = await client.post(CASES, json={"IsClosed": True}, headers=headers)
    assert created.headers["sforce-limit-info"] == "api-usage=1/100000"
    assert refused.headers["sforce-limit-info"] == "api-usage=2/100000"


async def test_daily_limit_exhaustion_answers_the_request_limit_sample() -> None:
    app, emulator = emulator_app(SalesforceEmulatorConfig(daily_api_limit=1))
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config)
        await client.post(CASES, json={}, headers=headers)
        answer = await client.post(CASES, json={}, headers=headers)
    assert answer.status_code == 403
    assert answer.json() == fixture_json("error-request-limit-exceeded-daily.json")


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("REQUEST_LIMIT_EXCEEDED", 403),
        ("UNABLE_TO_LOCK_ROW", 400),
        ("UNKNOWN_EXCEPTION", 500),
        ("SERVER_UNAVAILABLE", 503),
    ],
)
async def test_forced_faults_answer_with_their_error_code(code: str, status: int) -> None:
    app, emulator = emulator_app()
    emulator.faults.forced_errors = [code]
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config)
        failed = await client.post(CASES, json={}, headers=headers)
        then = await client.post(CASES, json={}, headers=headers)
    assert failed.status_code == status
    assert failed.json()[0]["errorCode"] == code
    assert {"message", "errorCode"} <= set(failed.json()[0])
    assert then.status_code == 201


# ---- Case rules ------------------------------------------------------------------------------
async def test_create_answers_the_success_sample_shape() -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        answer = await client.post(
            CASES, json={"Subject": "Help"}, headers=await bearer(client, emulator.config)
        )
    body = answer.json()
    assert answer.status_code == 201
    assert sorted(body) == sorted(fixture_json("create-success-amplabs.json"))
    assert (body["success"], body["errors"], body["id"][:3]) == (True, [], "500")


NO_FIELDS_KEY = None  # the answer's error has no "fields" key at all, as in its sample


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error", "fields", "sample", "message"),
    [
        pytest.param(
            "POST", CASES, {"CaseNumber": "1"}, 400, "INVALID_FIELD_FOR_INSERT_UPDATE", ["CaseNumber"],
            "error-invalid-field-for-insert-update-amplabs.json", None, id="read-only-field",
        ),
        pytest.param(
            "POST", CASES, {"Nope__c": "1"}, 400, "INVALID_FIELD", NO_FIELDS_KEY,
            "error-invalid-field-no-fields-key-amplabs.json",
            "No such column 'Nope__c' on sobject of type Case", id="unknown-field",
        ),
        pytest.param(
            "POST", CASES, {"Status": "Resolved"}, 400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["Status"],
            None, None, id="status-outside-its-restricted-picklist",
        ),
        pytest.param(
            "POST", CASES, {"OwnerId": "005-not-an-id"}, 400, "MALFORMED_ID", ["OwnerId"], None, None,
            id="malformed-owner-id",
        ),
        pytest.param(
            "GET", f"{CASES}/500xx000004CaSeAAK", None, 404, "NOT_FOUND", NO_FIELDS_KEY, None, None,
            id="unknown-case",
        ),
        pytest.param(
            "POST", COMMENTS, {"CommentBody": "hi"}, 400, "REQUIRED_FIELD_MISSING", ["ParentId"], None,
            "Required fields are missing: [ParentId]", id="comment-without-parent",
        ),
        pytest.param(
            "POST", "/services/data/v65.0/sobjects/Lead", {}, 404, "NOT_FOUND", NO_FIELDS_KEY, None, None,
            id="unknown-sobject",
        ),
    ],
)  # fmt: skip
async def test_a_request_salesforce_refuses_names_its_error_code_and_fields(
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
    error: str,
    fields: list[str] | None,
    sample: str | None,
    message: str | None,
) -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        answer = await client.request(method, path, json=body, headers=await bearer(client, emulator.config))
    assert answer.status_code == status
    [refusal] = answer.json()
    assert refusal["errorCode"] == error
    assert refusal.get("fields", NO_FIELDS_KEY) == fields
    assert isinstance(refusal["message"], str) and refusal["message"]
    if sample is not None:
        same_shape(answer.json(), fixture_json(sample))
    if message is not None:
        assert refusal["message"] == message


async def test_comment_bodies_over_4000_bytes_are_string_too_long() -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config)
        case_id = (await client.post(CASES, json={}, headers=headers)).json()["id"]
        fits = await client.post(
            COMMENTS, json={"ParentId": case_id, "CommentBody": "字" * 1333 + "a"}, headers=headers
        )
        too_long = await client.post(
            COMMENTS, json={"ParentId": case_id, "CommentBody": "字" * 1334}, headers=headers
        )
    assert fits.status_code == 201
    assert fits.json()["id"].startswith("00a")
    assert too_long.status_code == 400
    assert too_long.json()[0]["errorCode"] == "STRING_TOO_LONG"
    assert too_long.json()[0]["fields"] == ["CommentBody"]


async def test_create_runs_assignment_rules_by_default() -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config)
        case_id = (
            await client.post(CASES, json={"OwnerId": emulator.admin_user.id}, headers=headers)
        ).json()["id"]
    assert emulator.records.cases[case_id]["OwnerId"] == emulator.support_queue.id


async def test_create_with_auto_assign_false_keeps_the_creator_or_given_owner() -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config) | {"Sforce-Auto-Assign": "FALSE"}
        mine = (await client.post(CASES, json={}, headers=headers)).json()["id"]
        given = (await client.post(CASES, json={"OwnerId": emulator.admin_user.id}, headers=headers)).json()[
            "id"
        ]
    assert emulator.records.cases[mine]["OwnerId"] == emulator.integration_user.id
    assert emulator.records.cases[given]["OwnerId"] == emulator.admin_user.id


async def test_an_update_without_auto_assign_false_reassigns_and_fires_owner_changed() -> None:
    config = SalesforceEmulatorConfig()
    config.outbound.url = "http://gateway.test"
    config.outbound.paused = True
    app, emulator = emulator_app(config)
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config) | {"Sforce-Auto-Assign": "FALSE"}
        case_id = (await client.post(CASES, json={}, headers=headers)).json()["id"]
        quiet = await client.patch(f"{CASES}/{case_id}", json={"Subject": "a"}, headers=headers)
        headers.pop("Sforce-Auto-Assign")
        loud = await client.patch(f"{CASES}/{case_id}", json={"Subject": "b"}, headers=headers)
    assert (quiet.status_code, loud.status_code) == (204, 204)
    assert emulator.records.cases[case_id]["OwnerId"] == emulator.support_queue.id
    assert [p.trigger for p in emulator.outbound.pending()] == ["case-owner-changed"]
    await emulator.outbound.aclose()


async def test_closing_sets_is_closed_and_closed_date_and_fires_case_closed_once() -> None:
    config = SalesforceEmulatorConfig()
    config.outbound.url = "http://gateway.test"
    config.outbound.paused = True
    app, emulator = emulator_app(config)
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config) | {"Sforce-Auto-Assign": "FALSE"}
        case_id = (await client.post(CASES, json={}, headers=headers)).json()["id"]
        await client.patch(f"{CASES}/{case_id}", json={"Status": "Closed"}, headers=headers)
        await client.patch(f"{CASES}/{case_id}", json={"Subject": "still closed"}, headers=headers)
        case = (await client.get(f"{CASES}/{case_id}", headers=headers)).json()
    assert case["IsClosed"] is True
    assert case["ClosedDate"].endswith(".000+0000")
    assert [p.trigger for p in emulator.outbound.pending()] == ["case-closed"]
    await emulator.outbound.aclose()


async def test_get_user_returns_the_user_record() -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config)
        answer = await client.get(
            f"/services/data/v65.0/sobjects/User/{emulator.admin_user.id}", headers=headers
        )
    assert answer.status_code == 200
    assert answer.json()["Name"] == "Emulator Admin"
    assert answer.json()["attributes"]["type"] == "User"


# ---- test API --------------------------------------------------------------------------------
async def test_admin_api_shows_a_case_with_comments_and_decoded_files() -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config)
        case_id = (await client.post(CASES, json={"Subject": "s"}, headers=headers)).json()["id"]
        await client.post(COMMENTS, json={"ParentId": case_id, "CommentBody": "hello"}, headers=headers)
        version = {
            "Title": "t",
            "PathOnClient": "chat.txt",
            "VersionData": base64.b64encode("你好\n".encode()).decode(),
            "FirstPublishLocationId": case_id,
        }
        created = await client.post(
            "/services/data/v65.0/sobjects/ContentVersion", json=version, headers=headers
        )
        shown = (await client.get(f"/_emulator/cases/{case_id}")).json()
        listed = (await client.get("/_emulator/cases")).json()
    assert created.json()["id"].startswith("068")
    assert [c["CommentBody"] for c in shown["comments"]] == ["hello"]
    assert [(f["PathOnClient"], f["content"]) for f in shown["files"]] == [("chat.txt", "你好\n")]
    assert shown["files"][0]["ContentDocumentId"].startswith("069")
    assert [c["Id"] for c in listed] == [case_id]


async def test_admin_api_changes_owner_and_closes() -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config)
        case_id = (await client.post(CASES, json={}, headers=headers)).json()["id"]
        owned = await client.post(
            f"/_emulator/cases/{case_id}/owner", json={"owner_id": emulator.admin_user.id}
        )
        bad_owner = await client.post(
            f"/_emulator/cases/{case_id}/owner", json={"owner_id": "005xx000001AgNtAAK"}
        )
        closed = await client.post(f"/_emulator/cases/{case_id}/close", json={})
    assert owned.json()["OwnerId"] == emulator.admin_user.id
    assert bad_owner.status_code == 400
    assert (closed.json()["Status"], closed.json()["IsClosed"]) == ("Closed", True)


async def test_admin_api_sets_faults_and_outbound_knobs_and_expires_tokens() -> None:
    app, emulator = emulator_app()
    async with asgi_client(app) as client:
        headers = await bearer(client, emulator.config)
        await client.put("/_emulator/faults", json={"forced_errors": ["UNABLE_TO_LOCK_ROW"]})
        locked = await client.post(CASES, json={}, headers=headers)
        knobs = (await client.put("/_emulator/outbound", json={"duplicate": 3, "secret": "x"})).json()
        expired = (await client.post("/_emulator/tokens/expire")).json()
        log = (await client.get("/_emulator/outbound/log")).json()
    assert locked.json()[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"
    assert (knobs["duplicate"], knobs["secret"]) == (3, "***")
    assert emulator.outbound.settings.duplicate == 3
    assert expired == {"expired": 1}
    assert log == {"deliveries": [], "pending": [], "delivered": [], "given_up": []}


# ---- simple-salesforce as an independent witness ---------------------------------------------
class LoopbackAdapter(HTTPAdapter):
    """Sends every ``https://<anything>.salesforce.com`` request to the loopback server."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        parts = urlsplit(request.url or "")
        request.url = urlunsplit(("http", f"127.0.0.1:{self.port}", parts.path, parts.query, ""))
        return super().send(request, *args, **kwargs)


@contextmanager
def served(app: Starlette) -> Iterator[int]:
    """Run ``app`` under uvicorn on 127.0.0.1 in a thread; yields the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="none", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def test_simple_salesforce_logs_in_with_client_credentials_and_creates_a_case() -> None:
    app, emulator = emulator_app()
    with served(app) as port:
        session = requests.Session()
        session.mount("https://", LoopbackAdapter(port))
        # Its attribute access (sf.Case) is typed as a union of bulk and REST types.
        sf: Any = Salesforce(
            consumer_key="emulator-client-id",
            consumer_secret="emulator-client-secret",
            domain="acme.my",
            version="65.0",
            session=session,
        )
        created = sf.Case.create(
            {"Subject": "From simple-salesforce", "Origin": "Chat"}, headers={"Sforce-Auto-Assign": "FALSE"}
        )
        fetched = sf.Case.get(created["id"])
        session.close()
    assert created["success"] is True
    assert fetched["Subject"] == "From simple-salesforce"
    assert emulator.records.cases[created["id"]]["OwnerId"] == emulator.integration_user.id
    assert emulator.tokens.grants == ["client_credentials"]


def test_simple_salesforce_upserts_by_external_id_and_queries_every_page() -> None:
    app, emulator = emulator_app(SalesforceEmulatorConfig(query_batch_size=2))
    with served(app) as port:
        session = requests.Session()
        session.mount("https://", LoopbackAdapter(port))
        sf: Any = Salesforce(
            consumer_key="emulator-client-id",
            consumer_secret="emulator-client-secret",
            domain="acme.my",
            version="65.0",
            session=session,
        )
        quiet = {"Sforce-Auto-Assign": "FALSE"}
        inserted = sf.Case.upsert("IM_Ticket_Id__c/ticket-1", {"Subject": "First"}, headers=quiet)
        updated = sf.Case.upsert("IM_Ticket_Id__c/ticket-1", {"Subject": "First, again"}, headers=quiet)
        for n in (2, 3):
            sf.Case.upsert(f"IM_Ticket_Id__c/ticket-{n}", {"Subject": f"Ticket {n}"}, headers=quiet)
        one = sf.query("SELECT Id, Subject FROM Case WHERE IM_Ticket_Id__c = 'TICKET-1'")
        every = sf.query_all("SELECT IM_Ticket_Id__c FROM Case ORDER BY IM_Ticket_Id__c DESC")
        session.close()
    assert (inserted, updated) == (201, 200)
    assert len(emulator.records.cases) == 3
    assert [r["Subject"] for r in one["records"]] == ["First, again"]
    assert [r["IM_Ticket_Id__c"] for r in every["records"]] == ["ticket-3", "ticket-2", "ticket-1"]
    assert (every["totalSize"], every["done"]) == (3, True)
