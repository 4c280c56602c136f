"""The gateway's Tencent Cloud IM REST client: the only code that talks to Tencent.

It owns the admin UserSig (cached, renewed at 80 % of its life, regenerated once on 70001),
pacing (a token bucket under the per-API limit), timeouts, and the translation of every
ErrorCode into :class:`RetryableError` or :class:`PermanentError`. It does not retry anything
except that one 70001: retries belong to the worker, which knows about backoff and dead letters.
Idempotent outcomes are success here: 10025 on create, "already a member" on add, "already gone"
on destroy and on removing members.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
from TLSSigAPIv2 import TLSSigAPIv2

from gateway.clients.tencent_im.errors import (
    MembersNotAddedError,
    TencentIMPermanentError,
    TencentIMRetryableError,
    error_for,
)
from gateway.clients.tencent_im.models import (
    AddMembersResult,
    GroupInfo,
    HistoryMessage,
    HistoryPage,
    SentMessage,
)
from gateway.clients.tencent_im.ratelimit import AsyncTokenBucket
from gateway.observability import remote_call

log = logging.getLogger("gateway.clients.tencent_im")
JSON = dict[str, Any]

_USERSIG_PARAM = re.compile(r"usersig=[^&\s'\"]*", re.IGNORECASE)
GONE_CODES = frozenset({10010, 10015})
USERSIG_EXPIRED = 70001
# Per-call list limits (docs/tencent-im.md, "Accounts", "Groups", "Members").
MAX_ADD = 300  # add_group_member: up to 300 members per call
MAX_DELETE = 100  # delete_group_member: 100 per call (the old CN doc allowed 500)
MAX_CHECK = 100  # account_check
MAX_INFO = 50  # get_group_info
MEMBER_PAGE = 200  # get_group_member_info: Limit is at most 200


class TencentIMClient:
    """Async client for the v4 REST API, on one pooled ``httpx.AsyncClient``.

    Pass ``http`` to share a client or to route calls into an emulator in-process
    (``httpx.AsyncClient(transport=httpx.ASGITransport(app=...))``); the client then does not
    close it. ``clock`` (wall time) decides when the cached UserSig is renewed.
    """

    def __init__(
        self,
        sdkappid: int,
        secret_key: str,
        admin_identifier: str,
        base_url: str,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        requests_per_second: float = 150.0,
        usersig_lifetime: int = 7 * 86400,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sdkappid = sdkappid
        self._secret_key = secret_key
        self._admin = admin_identifier
        self._base_url = base_url.rstrip("/")
        self._timeout = httpx.Timeout(timeout)
        self._deadline = timeout
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(
            timeout=self._timeout, limits=httpx.Limits(max_connections=50, max_keepalive_connections=20)
        )
        self._bucket = AsyncTokenBucket(requests_per_second)
        self._lifetime = usersig_lifetime
        self._clock = clock
        self._signer = TLSSigAPIv2(sdkappid, secret_key)
        self._usersig: str | None = None
        self._usersig_renew_at = 0.0
        self.usersig_generations = 0  # how many admin UserSigs were made (a renewal count for metrics)

    async def __aenter__(self) -> TencentIMClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_http:
            await self._http.aclose()

    # ---- UserSig -------------------------------------------------------------------------------

    def _current_usersig(self, *, force: bool = False) -> str:
        """The cached admin UserSig, regenerated at 80 % of its life (or when ``force``)."""
        now = self._clock()
        if force or self._usersig is None or now >= self._usersig_renew_at:
            self._usersig = str(self._signer.gen_sig(self._admin, self._lifetime))
            self._usersig_renew_at = now + 0.8 * self._lifetime
            self.usersig_generations += 1
            log.info("generated admin UserSig (valid %d s)", self._lifetime)
        return self._usersig

    def _redact(self, text: str) -> str:
        """Remove the UserSig and key from text bound for logs or errors, also URL-encoded."""
        text = _USERSIG_PARAM.sub("usersig=<redacted>", text)
        for secret in (self._usersig, self._secret_key):
            if secret:
                for form in (secret, quote(secret, safe=""), quote_plus(secret)):
                    text = text.replace(form, "<redacted>")
        return text

    # ---- transport -----------------------------------------------------------------------------

    async def call(self, service: str, command: str, body: JSON) -> JSON:
        """POST one API and return its JSON on ErrorCode 0; raise the mapped error otherwise.

        On 70001 (UserSig expired) a fresh UserSig is made and the call repeated once.
        """
        api = f"{service}/{command}"
        with remote_call("tencent_im", api):
            return await self._call(api, body)

    async def _call(self, api: str, body: JSON) -> JSON:
        data = await self._post(api, body, self._current_usersig())
        if data.get("ErrorCode") == USERSIG_EXPIRED:
            log.warning("Tencent IM %s: UserSig expired (70001); regenerating and retrying once", api)
            data = await self._post(api, body, self._current_usersig(force=True))
        code = data.get("ErrorCode")
        if code == 0:
            return data
        if not isinstance(code, int):
            raise TencentIMRetryableError(f"Tencent IM {api}: answer without an ErrorCode", api=api, code=0)
        info = self._redact(str(data.get("ErrorInfo", "")))
        request_id = data.get("RequestId")
        log.info("Tencent IM %s failed: ErrorCode %d %s RequestId=%s", api, code, info, request_id)
        raise error_for(api, code, info, str(request_id) if request_id else None)

    async def _post(self, api: str, body: JSON, usersig: str) -> JSON:
        await self._bucket.acquire()
        params = {
            "sdkappid": str(self._sdkappid),
            "identifier": self._admin,
            "usersig": usersig,
            "random": str(secrets.randbelow(2**32)),
            "contenttype": "json",
        }
        started = time.monotonic()
        try:
            # httpx.Timeout bounds each phase; the outer deadline bounds the whole call, also on
            # transports that ignore httpx timeouts (ASGITransport in tests).
            async with asyncio.timeout(self._deadline):
                response = await self._http.post(
                    f"{self._base_url}/v4/{api}", params=params, json=body, timeout=self._timeout
                )
        except (TimeoutError, httpx.TimeoutException):
            raise TencentIMRetryableError(f"Tencent IM {api}: timed out", api=api, code=0) from None
        except httpx.HTTPError as exc:
            detail = self._redact(f"{type(exc).__name__}: {exc}")
            raise TencentIMRetryableError(
                f"Tencent IM {api}: network error {detail}", api=api, code=0
            ) from None
        elapsed = time.monotonic() - started
        status = response.status_code
        if status >= 500 or status == 429:
            raise TencentIMRetryableError(f"Tencent IM {api}: HTTP {status}", api=api, code=0)
        if status != 200:
            raise TencentIMPermanentError(
                f"Tencent IM {api}: HTTP {status} (check the base URL)", api=api, code=0
            )
        try:
            data = response.json()
        except ValueError:
            raise TencentIMRetryableError(f"Tencent IM {api}: answer is not JSON", api=api, code=0) from None
        if not isinstance(data, dict):
            raise TencentIMRetryableError(f"Tencent IM {api}: answer is not a JSON object", api=api, code=0)
        log.debug("Tencent IM %s -> %s in %.3f s", api, data.get("ErrorCode"), elapsed)
        return data

    # ---- accounts ------------------------------------------------------------------------------

    async def account_import(
        self, user_id: str, nick: str | None = None, face_url: str | None = None
    ) -> None:
        """Import (or update) an account; repeating it is harmless."""
        body: JSON = {"UserID": user_id}
        if nick is not None:
            body["Nick"] = nick
        if face_url is not None:
            body["FaceUrl"] = face_url
        await self.call("im_open_login_svc", "account_import", body)

    async def account_check(self, user_ids: Iterable[str]) -> dict[str, bool]:
        """Whether each account is imported."""
        ids = list(dict.fromkeys(user_ids))
        result: dict[str, bool] = {}
        for chunk in _chunks(ids, MAX_CHECK):
            data = await self.call(
                "im_open_login_svc", "account_check", {"CheckItem": [{"UserID": u} for u in chunk]}
            )
            for item in data.get("ResultItem", []):
                result[str(item.get("UserID"))] = item.get("AccountStatus") == "Imported"
        return result

    # ---- groups --------------------------------------------------------------------------------

    async def create_group(
        self,
        group_id: str | None,
        name: str,
        *,
        type: str = "Private",  # shadows the builtin on purpose: it is the API field name
        owner: str | None = None,
        members: Sequence[str] = (),
    ) -> str:
        """Create a group and return its ID (``group_id=None`` asks Tencent for an automatic one).

        10025 (the ID exists and we own it) is success. 10021 (the ID exists, owned by someone
        else) is checked once with get_group_info: a group with the same Type, Name and owner is
        the one an earlier attempt of ours created (Tencent answers 10021 to an App admin when the
        group's owner is another account), so that is success too; anything else is permanent.
        """
        body: JSON = {"Type": type, "Name": name}
        if group_id is not None:
            body["GroupId"] = group_id
        if owner:
            body["Owner_Account"] = owner
        if members:
            body["MemberList"] = [{"Member_Account": m} for m in members]
        try:
            data = await self.call("group_open_http_svc", "create_group", body)
        except TencentIMPermanentError as exc:
            if group_id is not None and exc.code == 10025:
                return group_id
            if (
                group_id is not None
                and exc.code == 10021
                and await self._is_our_group(group_id, type, name, owner)
            ):
                return group_id
            raise
        return str(data["GroupId"])

    async def _is_our_group(self, group_id: str, type_: str, name: str, owner: str | None) -> bool:
        infos = await self.get_group_info([group_id])
        info = infos[0] if infos else None
        return bool(
            info
            and info.exists
            and info.type == type_
            and info.name == name
            and (info.owner or None) == owner
        )

    async def destroy_group(self, group_id: str) -> bool:
        """Dismiss a group. Returns False if it was already gone (10010/10015), which is success."""
        try:
            await self.call("group_open_http_svc", "destroy_group", {"GroupId": group_id})
        except TencentIMPermanentError as exc:
            if exc.code in GONE_CODES:
                log.info("destroy_group %s: already gone (%d)", group_id, exc.code)
                return False
            raise
        return True

    async def add_group_members(
        self, group_id: str, user_ids: Iterable[str], *, silence: bool = True
    ) -> AddMembersResult:
        """Add members (up to 300 per call). Result 1 (added) and 2 (already in) are success;
        10013 (already a member, whole request) is success; any Result 0 raises
        :class:`MembersNotAddedError` after all chunks were tried."""
        ids = list(dict.fromkeys(user_ids))
        added: list[str] = []
        already: list[str] = []
        failed: list[str] = []
        api = "group_open_http_svc/add_group_member"
        for chunk in _chunks(ids, MAX_ADD):
            body = {
                "GroupId": group_id,
                "Silence": int(silence),
                "MemberList": [{"Member_Account": u} for u in chunk],
            }
            try:
                data = await self.call("group_open_http_svc", "add_group_member", body)
            except TencentIMPermanentError as exc:
                if exc.code != 10013:
                    raise
                already.extend(chunk)
                continue
            for item in data.get("MemberList", []):
                account, result = str(item.get("Member_Account")), item.get("Result")
                (added if result == 1 else already if result == 2 else failed).append(account)
        if failed:
            raise MembersNotAddedError(
                f"Tencent IM {api}: Result 0 for {len(failed)} member(s) of {group_id}: {', '.join(failed)} "
                "(not imported, group full, or the user's group limit)",
                api=api,
                failed=failed,
            )
        return AddMembersResult(added, already)

    async def delete_group_members(
        self, group_id: str, user_ids: Iterable[str], *, reason: str | None = None, silence: bool = False
    ) -> None:
        """Remove members. A group that is already gone (10010/10015) has no members left to
        remove, so that is success: the wanted state ("they are not in the group") holds."""
        ids = list(dict.fromkeys(user_ids))
        for chunk in _chunks(ids, MAX_DELETE):
            body: JSON = {"GroupId": group_id, "Silence": int(silence), "MemberToDel_Account": chunk}
            if reason:
                body["Reason"] = reason
            try:
                await self.call("group_open_http_svc", "delete_group_member", body)
            except TencentIMPermanentError as exc:
                if exc.code in GONE_CODES:
                    log.info("delete_group_member %s: group already gone (%d)", group_id, exc.code)
                    return
                raise

    async def get_group_info(self, group_ids: Iterable[str]) -> list[GroupInfo]:
        """Basic info per group; a gone group is an entry with ``exists`` False, not an error."""
        out: list[GroupInfo] = []
        for chunk in _chunks(list(group_ids), MAX_INFO):
            data = await self.call("group_open_http_svc", "get_group_info", {"GroupIdList": chunk})
            for item in data.get("GroupInfo", []):
                out.append(GroupInfo.from_json(item))
        return out

    async def get_group_members(self, group_id: str) -> list[str]:
        """Every member's account, paging with Limit/Offset."""
        members: list[str] = []
        while True:
            body = {"GroupId": group_id, "Limit": MEMBER_PAGE, "Offset": len(members)}
            data = await self.call("group_open_http_svc", "get_group_member_info", body)
            page = [str(m.get("Member_Account")) for m in data.get("MemberList", [])]
            members.extend(page)
            if len(page) < MEMBER_PAGE or len(members) >= int(data.get("MemberNum", 0)):
                return members

    # ---- messages ------------------------------------------------------------------------------

    @staticmethod
    def random_for(idempotency_key: str) -> int:
        """A send ``Random`` derived from an idempotency key (first 4 bytes of its SHA-256), so a
        retried send is discarded by Tencent's 5-minute duplicate window instead of doubling."""
        return int.from_bytes(hashlib.sha256(idempotency_key.encode("utf-8")).digest()[:4], "big")

    async def send_group_message(
        self,
        group_id: str,
        msg_body: list[JSON],
        *,
        from_account: str | None = None,
        random: int | None = None,
        forbid_after_callback: bool = True,
        cloud_custom_data: str | None = None,
    ) -> SentMessage:
        """Send a group message. ``forbid_after_callback`` (default on) stops Tencent echoing the
        gateway's own message back through Group.CallbackAfterSendMsg."""
        body: JSON = {
            "GroupId": group_id,
            "Random": secrets.randbelow(2**32) if random is None else random,
            "MsgBody": msg_body,
        }
        if from_account:
            body["From_Account"] = from_account
        if forbid_after_callback:
            body["ForbidCallbackControl"] = ["ForbidAfterSendMsgCallback"]
        if cloud_custom_data is not None:
            body["CloudCustomData"] = cloud_custom_data
        data = await self.call("group_open_http_svc", "send_group_msg", body)
        msg_id = data.get("MsgId")
        return SentMessage(
            int(data.get("MsgSeq", 0)), int(data.get("MsgTime", 0)), str(msg_id) if msg_id else None
        )

    async def get_group_history(
        self, group_id: str, *, req_msg_seq: int | None = None, count: int = 20
    ) -> HistoryPage:
        """Up to ``count`` (≤ 20) messages with seq ≤ ``req_msg_seq`` (newest when None)."""
        if not 1 <= count <= 20:
            raise ValueError("count must be between 1 and 20")
        body: JSON = {"GroupId": group_id, "ReqMsgNumber": count}
        if req_msg_seq is not None:
            body["ReqMsgSeq"] = req_msg_seq
        data = await self.call("group_open_http_svc", "group_msg_get_simple", body)
        # The field table says MsgList, the sample RspMsgList (docs/tencent-im.md, "Messages"): accept both.
        raw = data.get("RspMsgList", data.get("MsgList")) or []
        messages = sorted((HistoryMessage.from_json(m) for m in raw), key=lambda m: m.msg_seq)
        lowest = messages[0].msg_seq if messages else 0
        return HistoryPage(
            group_id=group_id,
            messages=messages,
            is_finished=int(data.get("IsFinished", 1)),
            next_req_msg_seq=lowest - 1 if lowest > 1 else None,
        )

    async def iter_group_history(
        self, group_id: str, *, newest_seq: int | None = None, stop_after_seq: int = 0
    ) -> AsyncIterator[HistoryPage]:
        """Pages from newest to oldest until seq 1, an empty page, expired history (IsFinished 2),
        or a page reaching ``stop_after_seq`` (messages at or below it are left out)."""
        req: int | None = newest_seq
        while True:
            page = await self.get_group_history(group_id, req_msg_seq=req)
            kept = [m for m in page.messages if m.msg_seq > stop_after_seq]
            if kept:
                yield HistoryPage(group_id, kept, page.is_finished, page.next_req_msg_seq)
            if (
                not page.messages
                or page.next_req_msg_seq is None
                or page.is_finished == 2
                or page.next_req_msg_seq <= stop_after_seq
            ):
                return
            req = page.next_req_msg_seq


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
