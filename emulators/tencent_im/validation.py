"""Request-body checks shared by the command handlers, each failing with 10004 (or a given code).

Tencent answers malformed parameters with 10004 "invalid parameter" on group APIs and 70402 on
account APIs, so every helper takes the code to raise.
"""

from __future__ import annotations

from typing import Any

from emulators.tencent_im.errors import INVALID_PARAM, TimError

GROUP_TYPES = frozenset({"Private", "Public", "ChatRoom", "AVChatRoom", "Community"})


def text(
    body: dict[str, Any],
    key: str,
    *,
    required: bool = False,
    max_bytes: int | None = None,
    code: int = INVALID_PARAM,
    default: str = "",
) -> str:
    """A string field, optionally required and bounded in UTF-8 bytes."""
    value = body.get(key)
    if value is None:
        if required:
            raise TimError(code, f"{key} is required")
        return default
    if not isinstance(value, str) or (required and not value):
        raise TimError(code, f"{key} must be a non-empty string" if required else f"{key} must be a string")
    if max_bytes is not None and len(value.encode("utf-8")) > max_bytes:
        raise TimError(code, f"{key} is longer than {max_bytes} bytes")
    return value


def integer(
    body: dict[str, Any],
    key: str,
    *,
    required: bool = False,
    low: int = 0,
    high: int = 2**63,
    default: int | None = None,
) -> int | None:
    """An integer field within ``[low, high]`` (booleans are not integers here)."""
    value = body.get(key)
    if value is None:
        if required:
            raise TimError(INVALID_PARAM, f"{key} is required")
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise TimError(INVALID_PARAM, f"{key} must be an integer in [{low}, {high}]")
    return value


def array(
    body: dict[str, Any],
    key: str,
    *,
    required: bool = True,
    max_len: int | None = None,
    code: int = INVALID_PARAM,
) -> list[Any]:
    """A list field, non-empty when required, at most ``max_len`` long."""
    value = body.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list) or (required and not value):
        raise TimError(code, f"{key} must be a non-empty array")
    if max_len is not None and len(value) > max_len:
        raise TimError(code, f"{key} holds more than {max_len} entries")
    return value


def member_accounts(items: list[Any], key: str = "Member_Account") -> list[str]:
    """``[{"Member_Account": "u"}, ...]`` to ``["u", ...]``."""
    out: list[str] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get(key), str) or not item[key]:
            raise TimError(INVALID_PARAM, f"each entry needs a {key} string")
        out.append(item[key])
    return out


def account_ids(items: list[Any]) -> list[str]:
    """A list of account ID strings."""
    if not all(isinstance(item, str) and item for item in items):
        raise TimError(INVALID_PARAM, "account lists hold non-empty strings")
    return list(items)


def check_group_id(group_id: str) -> None:
    """Custom GroupId rules: printable ASCII 0x20-0x7e, at most 48 bytes, no ``@TGS#`` prefix."""
    if not group_id or len(group_id) > 48 or any(not 0x20 <= ord(c) <= 0x7E for c in group_id):
        raise TimError(INVALID_PARAM, "GroupId must be 1-48 printable ASCII characters")
    if group_id.startswith("@TGS#"):
        raise TimError(INVALID_PARAM, "GroupId must not start with @TGS# (reserved for automatic IDs)")


def is_valid_group_id(group_id: str) -> bool:
    """Whether ``group_id`` passes :func:`check_group_id`."""
    try:
        check_group_id(group_id)
    except TimError:
        return False
    return True
