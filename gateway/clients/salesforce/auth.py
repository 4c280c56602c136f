"""OAuth 2.0 access tokens for the gateway's Salesforce client: fetch, cache, refresh once.

Two server-to-server flows survive Salesforce's 2026-27 retirements (docs/salesforce.md#oauth-flows):
client credentials (External Client App with a Run-As user) and JWT bearer (RS256 assertion,
``aud`` = login/test host, ``exp`` ≤ 3 min). Both token requests go to the org's My Domain,
``{instance_url}/services/oauth2/token``; neither returns a refresh token, so "refresh" means
asking again. Refreshes are single-flight: many calls failing with INVALID_SESSION_ID at once
cause one token request, not one each.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization

from gateway.errors import ConfigurationError, PermanentError, RetryableError

log = logging.getLogger("gateway.clients.salesforce")

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME_S = 180  # exp 3 minutes ahead, as simple-salesforce sends (the limit is unverified)


class TokenProvider:
    """Holds the current access token; :meth:`refresh` replaces a stale one exactly once."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        token_url: str,
        client_id: str,
        client_secret: str | None,
        jwt_private_key: str | None,
        jwt_username: str | None,
        login_url: str,
        timeout: float,
    ) -> None:
        if jwt_private_key is not None or jwt_username is not None:
            if not (jwt_private_key and jwt_username):
                raise ConfigurationError("JWT bearer needs both a private key and a username")
            try:
                serialization.load_pem_private_key(jwt_private_key.encode("ascii"), password=None)
            except (ValueError, TypeError, UnicodeEncodeError):
                raise ConfigurationError(
                    "the Salesforce JWT private key is not an unencrypted PEM key"
                ) from None
            self.flow = "jwt_bearer"
        elif client_secret:
            self.flow = "client_credentials"
        else:
            raise ConfigurationError("Salesforce needs a client secret or a JWT private key and username")
        self._http = http
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._jwt_key = jwt_private_key
        self._jwt_username = jwt_username
        self._audience = login_url.rstrip("/")
        self._timeout = timeout
        self._token: str | None = None
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        """The cached token, fetching one first if there is none."""
        if self._token is not None:
            return self._token
        return await self.refresh(stale=None)

    async def refresh(self, stale: str | None) -> str:
        """Replace ``stale`` with a fresh token; if another call already did, reuse theirs."""
        async with self._lock:
            if self._token is not None and self._token != stale:
                return self._token
            self._token = await self._fetch()
            return self._token

    async def _fetch(self) -> str:
        auth: httpx.Auth = httpx.Auth()  # the base class sends the request unchanged
        if self.flow == "jwt_bearer":
            assert self._jwt_key is not None  # checked in __init__
            claims = {
                "iss": self._client_id,
                "sub": self._jwt_username,
                "aud": self._audience,
                "exp": int(time.time()) + JWT_LIFETIME_S,
            }
            form = {
                "grant_type": JWT_GRANT,
                "assertion": jwt.encode(claims, self._jwt_key, algorithm="RS256"),
            }
        else:
            assert self._client_secret is not None  # checked in __init__
            form = {"grant_type": "client_credentials"}
            auth = httpx.BasicAuth(self._client_id, self._client_secret)
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._http.post(self._token_url, data=form, auth=auth, timeout=self._timeout)
        except (TimeoutError, httpx.TimeoutException):
            raise RetryableError("Salesforce token request timed out") from None
        except httpx.TransportError as exc:
            raise RetryableError(f"Salesforce token request failed: {type(exc).__name__}") from None
        body = _json(response)
        if response.status_code >= 500 or response.status_code == 429:
            raise RetryableError(f"Salesforce token endpoint answered HTTP {response.status_code}")
        if response.status_code != 200 or not isinstance(body.get("access_token"), str):
            error = body.get("error", f"HTTP {response.status_code}")
            description = body.get("error_description", "")
            raise PermanentError(f"Salesforce refused the {self.flow} token request: {error} ({description})")
        log.info("obtained a Salesforce access token via %s", self.flow)
        token: str = body["access_token"]
        return token


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
