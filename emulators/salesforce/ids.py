"""Salesforce record ids: 15-character bodies with the 3-character case-safe checksum.

The gateway compares ids from REST answers, outbound messages and its own store; an emulator
that invented ids without the real suffix would let a gateway bug (comparing 15 against 18
characters, or case-insensitively) slip through. Algorithm: docs/salesforce.md#record-ids.
"""

from __future__ import annotations

import random
import re
import string

_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_ID_RE = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")

CASE = "500"
CASE_COMMENT = "00a"
CONTENT_VERSION = "068"
CONTENT_DOCUMENT = "069"
USER = "005"
QUEUE = "00G"
NOTIFICATION = "04l"
ACTION = "04k"
ORGANIZATION = "00D"
CONTACT = "003"
ACCOUNT = "001"
QUERY_LOCATOR = "01g"  # as in the Query resource's sample nextRecordsUrl (docs/salesforce.md#soql-query)


def checksum(id15: str) -> str:
    """The three suffix characters Salesforce appends to a 15-character id."""
    if len(id15) != 15:
        raise ValueError("checksum needs exactly 15 characters")
    suffix = ""
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += _SUFFIX_ALPHABET[bits]
    return suffix


def to18(value: str) -> str:
    """Normalise a 15- or 18-character id to 18; ``ValueError`` if it is not a valid id.

    An 18-character id whose suffix disagrees with its body is rejected: Salesforce answers
    those with MALFORMED_ID / NOT_FOUND too.
    """
    if not _ID_RE.match(value):
        raise ValueError(f"not a Salesforce id: {value!r}")
    body = value[:15]
    full = body + checksum(body)
    if len(value) == 18 and value != full:
        raise ValueError(f"bad id checksum: {value!r}")
    return full


def is_valid(value: object) -> bool:
    """Whether ``value`` is a well-formed 15/18-character id."""
    if not isinstance(value, str):
        return False
    try:
        to18(value)
    except ValueError:
        return False
    return True


class IdFactory:
    """Mints fresh 18-character ids per key prefix.

    A random 3-character "pod" per emulator instance keeps ids from two runs apart, so a
    gateway store that outlives one emulator never confuses an old Case with a new one.
    """

    def __init__(self, seed: int | None = None) -> None:
        rng = random.Random(seed)
        self._pod = "".join(rng.choice(_BASE62) for _ in range(2))
        self._counter = 0

    def new(self, prefix: str) -> str:
        if len(prefix) != 3:
            raise ValueError("key prefixes have 3 characters")
        self._counter += 1
        serial = _base62(self._counter).rjust(9, "0")
        return to18(prefix + self._pod + "0" + serial)


def random_org_id(rng: random.Random | None = None) -> str:
    """A fresh, valid 18-character organization id (prefix 00D)."""
    source = rng or random.SystemRandom()
    body = (
        ORGANIZATION
        + "".join(source.choice(_BASE62) for _ in range(5))
        + "0000"
        + "".join(source.choice(_BASE62) for _ in range(3))
    )
    return to18(body)


def _base62(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 62)
        digits = _BASE62[rest] + digits
        if number == 0:
            return digits
