"""``im_open_login_svc``: account_import, multiaccount_import, account_check (docs/tencent-im.md, "Accounts").

Accounts matter because every other API refuses unknown ones (70107/10019). Account APIs answer
bad parameters with 70402, not 10004.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulators.tencent_im import validation as v
from emulators.tencent_im.context import CallContext, Handler
from emulators.tencent_im.errors import (
    ACCOUNT_BAD_PARAM,
    ACCOUNT_LIMIT,
    PROFILE_TOO_LONG,
    TimError,
    ok,
)
from emulators.tencent_im.state import Account

if TYPE_CHECKING:
    from emulators.tencent_im.emulator import TencentEmulator

JSON = dict[str, Any]


def import_one(emu: TencentEmulator, entry: JSON) -> None:
    """Create or update one account; re-importing is idempotent and may change Nick/FaceUrl."""
    # Old docs name the field "Identifier"; the real service still accepts it.
    key = "UserID" if "UserID" in entry else "Identifier"
    user_id = v.text(entry, key, required=True, max_bytes=32, code=ACCOUNT_BAD_PARAM)
    nick = v.text(entry, "Nick", code=ACCOUNT_BAD_PARAM)
    face = v.text(entry, "FaceUrl", code=ACCOUNT_BAD_PARAM)
    if len(nick.encode()) > 500 or len(face.encode()) > 500:
        raise TimError(PROFILE_TOO_LONG, "profile value longer than 500 bytes")
    accounts = emu.state.accounts
    existing = accounts.get(user_id)
    if existing is None:
        limit = emu.config.max_accounts
        if limit is not None and len(accounts) >= limit:
            raise TimError(ACCOUNT_LIMIT, "account count limit reached")
        accounts[user_id] = Account(user_id, nick, face, emu.now())
        return
    if "Nick" in entry:
        existing.nick = nick
    if "FaceUrl" in entry:
        existing.face_url = face


async def account_import(emu: TencentEmulator, ctx: CallContext, body: JSON) -> JSON:
    import_one(emu, body)
    return ok()


async def multiaccount_import(emu: TencentEmulator, ctx: CallContext, body: JSON) -> JSON:
    """Up to 100 accounts; failures are listed in FailAccounts, the call itself succeeds."""
    if "AccountList" in body:
        entries = v.array(body, "AccountList", max_len=100, code=ACCOUNT_BAD_PARAM)
    else:  # the older form: "Accounts": ["id1", "id2"]
        entries = [{"UserID": a} for a in v.array(body, "Accounts", max_len=100, code=ACCOUNT_BAD_PARAM)]
    failed: list[str] = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise TimError(ACCOUNT_BAD_PARAM, "AccountList entries are objects")
        try:
            import_one(emu, entry)
        except TimError:
            failed.append(str(entry.get("UserID", "")))
    return ok(FailAccounts=failed)


async def account_check(emu: TencentEmulator, ctx: CallContext, body: JSON) -> JSON:
    items = v.array(body, "CheckItem", max_len=100, code=ACCOUNT_BAD_PARAM)
    results: list[JSON] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("UserID"), str):
            raise TimError(ACCOUNT_BAD_PARAM, "CheckItem entries need a UserID")
        user_id = item["UserID"]
        status = "Imported" if user_id in emu.state.accounts else "NotImported"
        results.append({"UserID": user_id, "ResultCode": 0, "ResultInfo": "", "AccountStatus": status})
    return ok(ResultItem=results)


COMMANDS: dict[str, Handler] = {
    "account_import": account_import,
    "multiaccount_import": multiaccount_import,
    "account_check": account_check,
}
