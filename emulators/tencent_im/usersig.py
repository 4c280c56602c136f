"""UserSig verification, the half of tls-sig-api-v2 that the package does not ship.

Tencent's servers check every REST call's ``usersig``; the emulator must do the same so the
gateway's signing code is exercised for real. It inverts tls-sig-api-v2 1.1's algorithm
(docs/tencent-im.md, "UserSig") and raises the ErrorCode Tencent answers with for each way a sig
can be wrong. It deliberately imports nothing from :mod:`gateway`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import zlib
from typing import Any

from TLSSigAPIv2 import TLSSigAPIv2

# ErrorCodes of the public error table (docs/tencent-im.md, "Error codes").
SIG_EXPIRED = 70001
SIG_UNDECODABLE = 70003
SIG_BAD_SIGNATURE = 70009
SIG_IDENTIFIER_MISMATCH = 70013
SIG_SDKAPPID_MISMATCH = 70014


class UserSigError(ValueError):
    """A UserSig was rejected; ``code`` is the ErrorCode Tencent would answer with."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _b64url_decode(text: str) -> bytes:
    return base64.b64decode(text.replace("*", "+").replace("-", "/").replace("_", "="), validate=True)


def verify_usersig(
    usersig: str,
    sdkappid: int,
    key: str,
    identifier: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """Return the decoded sig document if ``usersig`` is valid, else raise :class:`UserSigError`.

    The checks run in this order: decodable, same SDKAppID, same identifier, HMAC
    made with ``key``, not expired (valid while ``now <= TLS.time + TLS.expire``).
    """
    try:
        doc = json.loads(zlib.decompress(_b64url_decode(usersig)).decode("utf-8"))
    except (ValueError, zlib.error, UnicodeDecodeError) as exc:
        raise UserSigError(SIG_UNDECODABLE, f"undecodable usersig: {type(exc).__name__}") from None
    if not isinstance(doc, dict):
        raise UserSigError(SIG_UNDECODABLE, "usersig is not a JSON object")
    try:
        ident = str(doc["TLS.identifier"])
        appid = int(doc["TLS.sdkappid"])
        issued = int(doc["TLS.time"])
        expire = int(doc["TLS.expire"])
        sig = str(doc["TLS.sig"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UserSigError(SIG_UNDECODABLE, f"usersig lacks a field: {exc}") from None
    if appid != int(sdkappid):
        raise UserSigError(SIG_SDKAPPID_MISMATCH, "sdkappid in the usersig differs from the request's")
    if identifier is not None and ident != identifier:
        raise UserSigError(SIG_IDENTIFIER_MISMATCH, "identifier in the usersig differs from the request's")
    content = f"TLS.identifier:{ident}\nTLS.sdkappid:{appid}\nTLS.time:{issued}\nTLS.expire:{expire}\n"
    if "TLS.userbuf" in doc:
        content += f"TLS.userbuf:{doc['TLS.userbuf']}\n"
    expected = base64.b64encode(hmac.new(key.encode(), content.encode(), hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected, sig):
        raise UserSigError(SIG_BAD_SIGNATURE, "usersig signature does not verify")
    current = time.time() if now is None else now
    if int(current) > issued + expire:
        raise UserSigError(SIG_EXPIRED, "usersig expired")
    return doc


def generate_usersig(sdkappid: int, key: str, identifier: str, expire: int) -> str:
    """Make a UserSig the way the real SDK does (for the test API's "log a user in" helper)."""
    return str(TLSSigAPIv2(sdkappid, key).gen_sig(identifier, expire))
