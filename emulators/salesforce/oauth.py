"""OAuth 2.0 token endpoint and OpenID Connect userinfo, answering per cause like Salesforce.

Error bodies follow those reported for the real service (docs/salesforce.md#oauth-errors):
``invalid_client_id`` for an unknown client, ``invalid_client`` for a wrong secret,
``invalid_grant`` for bad users, audiences and domains. A gateway that lumps them together
cannot tell an operator what is misconfigured, so the emulator keeps them apart.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from .operations import TOKEN
from .org import SalesforceEmulator
from .tokens import Token, token_signature

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
IDENTITY_HOST = "https://login.salesforce.com"


def _oauth_error(error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=400)


def _emulator(request: Request) -> SalesforceEmulator:
    emulator: SalesforceEmulator = request.app.state.emulator
    return emulator


def instance_url(request: Request, emulator: SalesforceEmulator) -> str:
    return emulator.config.instance_url or str(request.base_url).rstrip("/")


def token_answer(request: Request, emulator: SalesforceEmulator, token: Token) -> dict[str, Any]:
    """The token endpoint's success body (no refresh_token for these grants)."""
    identity = f"{IDENTITY_HOST}/id/{emulator.config.org_id}/{token.user_id}"
    issued_at = str(int(token.issued_at * 1000))
    return {
        "access_token": token.access_token,
        "instance_url": instance_url(request, emulator),
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": token_signature(identity, issued_at, emulator.config.client_secret or ""),
        "scope": token.scope,
    }


async def token_endpoint(request: Request) -> Response:
    """``POST /services/oauth2/token`` for client_credentials and JWT bearer.

    Fault knobs of operation ``token`` (:mod:`.operations`): a forced code answers instead
    (an OAuth ``error`` with HTTP 400, or ``http:NNN`` for that bare status); a lost answer
    issues the token, then holds the answer.
    """
    emulator = _emulator(request)
    if code := emulator.faults.forced_error_for(TOKEN):
        response = _forced(code)
    else:
        response = await _grant(request, emulator)
    if emulator.faults.lose_answer(TOKEN):
        await emulator.faults.hold_answer(request.is_disconnected)
    return response


def _forced(code: str) -> Response:
    if code.startswith("http:") and code[5:].isdigit():
        return Response(status_code=int(code[5:]))
    return _oauth_error(code, "injected fault")


async def _grant(request: Request, emulator: SalesforceEmulator) -> Response:
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
    grant = form.get("grant_type", "")
    if grant == "client_credentials":
        return _client_credentials(request, emulator, form)
    if grant == JWT_GRANT:
        return _jwt_bearer(request, emulator, form.get("assertion", ""))
    return _oauth_error("unsupported_grant_type", "grant type not supported")


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, _, secret = decoded.partition(":")
    return unquote_plus(client_id), unquote_plus(secret)


def _client_credentials(request: Request, emulator: SalesforceEmulator, form: dict[str, str]) -> Response:
    config = emulator.config
    client_id, secret = _basic_credentials(request) or (
        form.get("client_id", ""),
        form.get("client_secret", ""),
    )
    if not hmac.compare_digest(client_id.encode(), config.client_id.encode()):
        return _oauth_error("invalid_client_id", "client identifier invalid")
    if config.client_secret is None or not hmac.compare_digest(
        secret.encode(), config.client_secret.encode()
    ):
        return _oauth_error("invalid_client", "invalid client credentials")
    host = request.headers.get("host", "").split(":", 1)[0].lower()
    if host in ("login.salesforce.com", "test.salesforce.com"):
        # Client credentials only work on the org's My Domain host (docs/salesforce.md#oauth-flows).
        return _oauth_error("invalid_grant", "request not supported on this domain")
    user = emulator.integration_user  # the app's "Run As" user
    token = emulator.tokens.issue(user.id, client_id, grant="client_credentials")
    return JSONResponse(token_answer(request, emulator, token))


def _public_key(pem: str) -> RSAPublicKey | None:
    data = pem.encode("ascii")
    key = (
        x509.load_pem_x509_certificate(data).public_key()
        if b"BEGIN CERTIFICATE" in data
        else serialization.load_pem_public_key(data)
    )
    return key if isinstance(key, RSAPublicKey) else None


def _jwt_bearer(request: Request, emulator: SalesforceEmulator, assertion: str) -> Response:
    config = emulator.config
    # Unverified: Salesforce documents no descriptions for a bad signature or an expired
    # assertion; "invalid assertion" follows RFC 7523's wording. Issue threads report "expired
    # authorization code" for an expired one (docs/salesforce.md#oauth-errors).
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        return _oauth_error("invalid_grant", "invalid assertion")
    if claims.get("iss") != config.client_id:
        return _oauth_error("invalid_client_id", "client identifier invalid")
    key = _public_key(config.jwt_public_key_pem) if config.jwt_public_key_pem else None
    if key is None:
        return _oauth_error("invalid_grant", "invalid assertion")
    try:
        claims = jwt.decode(
            assertion,
            key,
            algorithms=["RS256"],
            audience=list(JWT_AUDIENCES),
            options={"require": ["iss", "sub", "aud", "exp"]},
        )
    except jwt.InvalidAudienceError:
        return _oauth_error("invalid_grant", "invalid audience")
    except jwt.PyJWTError:
        return _oauth_error("invalid_grant", "invalid assertion")
    user = emulator.directory.by_username(str(claims["sub"]))
    if user is None or not user.is_active:
        return _oauth_error("invalid_grant", "user hasn't approved this consumer")
    token = emulator.tokens.issue(user.id, config.client_id, grant="jwt_bearer")
    return JSONResponse(token_answer(request, emulator, token))


async def userinfo_endpoint(request: Request) -> Response:
    """``GET /services/oauth2/userinfo``: the token's own user, or 401/403.

    Unverified (docs/salesforce.md#userinfo): missing token → 401 ``Missing_OAuth_Token``;
    unknown/expired → 403 ``Bad_OAuth_Token`` (plain text); both mean "not a valid token".
    """
    emulator = _emulator(request)
    header = request.headers.get("authorization")
    if not header:
        return PlainTextResponse("Missing_OAuth_Token", status_code=401)
    token = emulator.tokens.from_header(header)
    user = emulator.directory.user(token.user_id) if token else None
    if token is None or user is None or not user.is_active:
        return PlainTextResponse("Bad_OAuth_Token", status_code=403)
    org = emulator.config.org_id
    base = instance_url(request, emulator)
    org15 = org[:15]
    return JSONResponse(
        {
            "sub": f"{IDENTITY_HOST}/id/{org}/{user.id}",
            "user_id": user.id,
            "organization_id": org,
            "preferred_username": user.username,
            "nickname": user.username.split("@", 1)[0],
            "name": user.name,
            "email": user.email,
            "email_verified": True,
            "given_name": user.first_name,
            "family_name": user.last_name,
            "zoneinfo": "GMT",
            "photos": {
                "picture": f"{base}/profilephoto/005/F",
                "thumbnail": f"{base}/profilephoto/005/T",
            },
            "profile": f"{base}/{user.id}",
            "picture": f"{base}/profilephoto/005/F",
            "is_salesforce_integration_user": user.is_integration,
            "urls": {
                "enterprise": f"{base}/services/Soap/c/{{version}}/{org15}",
                "metadata": f"{base}/services/Soap/m/{{version}}/{org15}",
                "partner": f"{base}/services/Soap/u/{{version}}/{org15}",
                "rest": f"{base}/services/data/v{{version}}/",
                "sobjects": f"{base}/services/data/v{{version}}/sobjects/",
                "search": f"{base}/services/data/v{{version}}/search/",
                "query": f"{base}/services/data/v{{version}}/query/",
                "profile": f"{base}/{user.id}",
            },
            "active": user.is_active,
            "user_type": "STANDARD",
            "language": "en_US",
            "locale": "en_US",
            "utcOffset": 0,
            "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    )
