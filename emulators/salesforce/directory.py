"""Users and queues of the emulated org: who can own a Case and who can hold a token.

Owners matter to the gateway (a ``005`` User owner joins the chat, a ``00G`` Queue does not),
so the emulator keeps both kinds and refuses owners it does not know.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import ids


@dataclass
class User:
    id: str
    username: str
    name: str
    email: str
    is_active: bool = True
    is_integration: bool = False

    @property
    def first_name(self) -> str:
        return self.name.split(" ", 1)[0] if " " in self.name else ""

    @property
    def last_name(self) -> str:
        return self.name.split(" ", 1)[-1]

    def record(self) -> dict[str, object]:
        """The User sObject as the REST API returns it."""
        return {
            "Id": self.id,
            "Username": self.username,
            "Name": self.name,
            "FirstName": self.first_name or None,
            "LastName": self.last_name,
            "Email": self.email,
            "IsActive": self.is_active,
            "FederationIdentifier": None,
        }


@dataclass
class Queue:
    id: str
    name: str
    developer_name: str


class Directory:
    """Users by id and username, queues by id."""

    def __init__(self, id_factory: ids.IdFactory) -> None:
        self._ids = id_factory
        self.users: dict[str, User] = {}
        self.queues: dict[str, Queue] = {}

    def add_user(
        self,
        name: str,
        email: str,
        username: str,
        *,
        user_id: str | None = None,
        is_integration: bool = False,
    ) -> User:
        if self.by_username(username) is not None:
            raise ValueError(f"username already taken: {username}")
        user = User(
            id=ids.to18(user_id) if user_id else self._ids.new(ids.USER),
            username=username,
            name=name,
            email=email,
            is_integration=is_integration,
        )
        self.users[user.id] = user
        return user

    def add_queue(self, name: str, developer_name: str, *, queue_id: str | None = None) -> Queue:
        queue = Queue(
            id=ids.to18(queue_id) if queue_id else self._ids.new(ids.QUEUE),
            name=name,
            developer_name=developer_name,
        )
        self.queues[queue.id] = queue
        return queue

    def by_username(self, username: str) -> User | None:
        lowered = username.lower()  # Salesforce usernames are case-insensitive
        return next((u for u in self.users.values() if u.username.lower() == lowered), None)

    def user(self, user_id: str) -> User | None:
        try:
            return self.users.get(ids.to18(user_id))
        except ValueError:
            return None

    def is_owner(self, owner_id: str) -> bool:
        """Whether ``owner_id`` names an active user or a queue (the two kinds of Case owner)."""
        try:
            full = ids.to18(owner_id)
        except ValueError:
            return False
        user = self.users.get(full)
        return (user is not None and user.is_active) or full in self.queues
