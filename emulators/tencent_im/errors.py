"""Tencent's failure vocabulary inside the emulator: an exception that carries an ErrorCode.

Command handlers raise :class:`TimError`; the REST layer turns it into the documented
``{"ActionStatus":"FAIL","ErrorCode":...,"ErrorInfo":...}`` envelope with HTTP 200.
"""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]

# Codes used by the emulator, named after the table in docs/tencent-im.md, "Error codes".
INTERNAL = 10002
BAD_COMMAND = 10003
INVALID_PARAM = 10004
NO_PERMISSION = 10007
GROUP_GONE = 10010
ALREADY_MEMBER = 10013
GROUP_FULL = 10014
INVALID_GROUP_ID = 10015
CALLBACK_REJECTED = 10016
ACCOUNT_MISSING = 10019
GROUP_ID_TAKEN = 10021
SEND_RATE = 10023
GROUP_ID_OWNED = 10025
RECALL_MISSING = 10030  # per-message RetCode: "the message to recall does not exist"
JSON_PARSE = 60003
URL_ACCOUNT = 60004
SDKAPPID_INVALID = 60006
API_RATE = 60007
NEEDS_ADMIN = 60010
SDKAPPID_NOT_FOUND = 70020
ACCOUNT_NOT_IMPORTED = 70107
ACCOUNT_LIMIT = 70398
ACCOUNT_BAD_PARAM = 70402
ACCOUNT_NEEDS_ADMIN = 70403
PROFILE_TOO_LONG = 40601
MSG_TOO_LONG = 80002


class TimError(Exception):
    """A call failed with a Tencent ErrorCode."""

    def __init__(self, code: int, info: str) -> None:
        super().__init__(f"{code}: {info}")
        self.code = code
        self.info = info


def ok(**fields: Any) -> JSON:
    """A success envelope with extra fields."""
    return {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", **fields}


def fail(code: int, info: str) -> JSON:
    """A failure envelope."""
    return {"ActionStatus": "FAIL", "ErrorCode": code, "ErrorInfo": info}
