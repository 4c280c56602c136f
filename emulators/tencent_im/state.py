"""In-memory data of one emulated app: accounts, groups, members, stored messages.

Plain dataclasses so tests and the test API can inspect exactly what the "server" holds.
Dismissed groups are kept (flagged) so a test can show that the group existed; every REST
API treats them as gone (10010), as the real service does.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


@dataclass
class Account:
    """An imported account (account_import / multiaccount_import)."""

    user_id: str
    nick: str = ""
    face_url: str = ""
    imported_at: int = 0


@dataclass
class Member:
    """One group member; ``role`` is ``Owner``, ``Admin`` or ``Member``."""

    account: str
    role: str
    join_time: int


@dataclass
class StoredMessage:
    """A group message as history (group_msg_get_simple) returns it."""

    seq: int
    from_account: str
    random: int
    time: int
    body: list[JSON]
    priority: str
    msg_id: str
    online_only: bool = False
    cloud_custom_data: str = ""
    recalled: bool = False  # group_msg_recall: reads back as a placeholder (IsPlaceMsg 2)


@dataclass
class Group:
    """A group and everything that happened in it."""

    group_id: str
    type: str
    name: str
    owner: str
    creator: str
    created_at: int
    introduction: str = ""
    notification: str = ""
    face_url: str = ""
    apply_join_option: str = "FreeAccess"
    max_members: int = 200
    app_defined_data: dict[str, str] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)
    messages: list[StoredMessage] = field(default_factory=list)
    next_seq: int = 1
    dismissed: bool = False
    dismissed_at: int | None = None
    # Random -> (wall time of the first send, the message it produced or None if dropped).
    recent_randoms: dict[int, tuple[float, StoredMessage | None]] = field(default_factory=dict)
    # Monotonic send times inside the last second, for the 40 msg/s per-group limit.
    send_times: deque[float] = field(default_factory=deque)
    info_seq: int = 1
    last_info_time: int = 0  # 0 until modify_group_base_info first changes the profile
    last_msg_time: int = 0
    mute_all: bool = False  # MuteAllMember; stored and reported, not enforced on sends
    # Applications to a Public group waiting for owner/admin approval: account -> time applied.
    join_applications: dict[str, int] = field(default_factory=dict)


@dataclass
class EmulatorState:
    """All accounts and groups of the app; ``auto_ids`` numbers the ``@TGS#`` IDs it hands out."""

    accounts: dict[str, Account] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    auto_ids: int = 0

    def live_group(self, group_id: str) -> Group | None:
        """The group if it exists and was not dismissed."""
        group = self.groups.get(group_id)
        return None if group is None or group.dismissed else group

    def next_auto_id(self) -> str:
        """A fresh ``@TGS#...`` ID in the style Tencent assigns (``@TGS#2J4SZEAEL``)."""
        self.auto_ids += 1
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        n, out = self.auto_ids, ""
        while n:
            n, r = divmod(n, 36)
            out = digits[r] + out
        return "@TGS#2" + out.rjust(8, "A")
