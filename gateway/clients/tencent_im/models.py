"""Typed results of the Tencent IM client, so handlers never index raw JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SentMessage:
    """send_group_msg's answer: the group's sequence number and the server time (seconds)."""

    msg_seq: int
    msg_time: int
    msg_id: str | None = None


@dataclass(frozen=True)
class HistoryMessage:
    """One entry of group_msg_get_simple's RspMsgList."""

    msg_seq: int
    from_account: str
    msg_time: int
    random: int
    msg_body: list[dict[str, Any]]
    priority: str = "Normal"
    # 1 = deleted/expired/not stored (empty body), 2 = recalled.
    is_place_msg: int = 0

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> HistoryMessage:
        """Parse leniently: missing fields get neutral values rather than failing the page."""
        body = item.get("MsgBody")
        return cls(
            msg_seq=int(item.get("MsgSeq", 0)),
            from_account=str(item.get("From_Account", "")),
            msg_time=int(item.get("MsgTimeStamp", 0)),
            random=int(item.get("MsgRandom", 0)),
            msg_body=body if isinstance(body, list) else [],
            priority=str(item.get("MsgPriority", "Normal")),
            is_place_msg=int(item.get("IsPlaceMsg", 0)),
        )


@dataclass(frozen=True)
class HistoryPage:
    """One page of history, ``messages`` in ascending MsgSeq order.

    ``next_req_msg_seq`` is what to ask for to page further back (smallest seq - 1), or
    ``None`` when the page reached seq 1 or was empty. ``is_finished`` is Tencent's IsFinished
    (1 all returned, 0 truncated, 2 the rest expired).
    """

    group_id: str
    messages: list[HistoryMessage]
    is_finished: int
    next_req_msg_seq: int | None


@dataclass(frozen=True)
class GroupInfo:
    """get_group_info's entry for one group; ``error_code`` 10010/10015 means it is gone."""

    group_id: str
    error_code: int
    type: str | None = None
    name: str | None = None
    owner: str | None = None
    member_num: int | None = None
    next_msg_seq: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def exists(self) -> bool:
        return self.error_code == 0

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> GroupInfo:
        """Parse one GroupInfo entry; the field names are the doc sample's (docs/tencent-im.md, "Groups")."""

        def opt_int(key: str) -> int | None:
            value = item.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        def opt_str(key: str) -> str | None:
            value = item.get(key)
            return value if isinstance(value, str) else None

        return cls(
            group_id=str(item.get("GroupId", "")),
            error_code=int(item.get("ErrorCode", 0)),
            type=opt_str("Type"),
            name=opt_str("Name"),
            owner=opt_str("Owner_Account"),
            member_num=opt_int("MemberNum"),
            next_msg_seq=opt_int("NextMsgSeq"),
            raw=item,
        )


@dataclass(frozen=True)
class AddMembersResult:
    """add_group_member's outcome per member: newly added vs already members."""

    added: list[str]
    already_members: list[str]
