"""Access tokens the emulator has issued, with expiry.

The gateway's token cache and its "refresh once on INVALID_SESSION_ID" rule are only tested
if tokens really expire; :meth:`TokenStore.expire_all` lets a test make that happen now.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass


@dataclass
class Token:
    access_token: str
    user_id: str
    client_id: str
    issued_at: float
    expires_at: float
    scope: str
    grant: str


class TokenStore:
    """Issues opaque ``<org15>!<random>`` tokens (the real format) and looks them up."""

    def __init__(self, org_id: str, lifetime: float) -> None:
        self._org15 = org_id[:15]
        self.lifetime = lifetime
        self._tokens: dict[str, Token] = {}
        self.grants: list[str] = []  # one entry per token issued, e.g. "client_credentials"

    def issue(self, user_id: str, client_id: str, *, grant: str, scope: str = "api id") -> Token:
        now = time.time()
        token = Token(
            access_token=f"{self._org15}!AQ{secrets.token_urlsafe(48)}",
            user_id=user_id,
            client_id=client_id,
            issued_at=now,
            expires_at=now + self.lifetime,
            scope=scope,
            grant=grant,
        )
        self._tokens[token.access_token] = token
        self.grants.append(grant)
        return token

    def lookup(self, access_token: str) -> Token | None:
        """The live token, or ``None`` when it is unknown or expired."""
        token = self._tokens.get(access_token)
        if token is None:
            return None
        if token.expires_at <= time.time():
            del self._tokens[access_token]
            return None
        return token

    def from_header(self, authorization: str | None) -> Token | None:
        if not authorization:
            return None
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() not in ("bearer", "oauth"):
            return None
        return self.lookup(value.strip())

    def expire_all(self) -> int:
        """Expire every token now (test hook); returns how many were live."""
        count = len(self._tokens)
        self._tokens.clear()
        return count


def token_signature(identity_url: str, issued_at: str, client_secret: str) -> str:
    """HMAC-SHA256 of id + issued_at keyed by the client secret, as Salesforce signs answers."""
    digest = hmac.new(client_secret.encode(), (identity_url + issued_at).encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode("ascii")
