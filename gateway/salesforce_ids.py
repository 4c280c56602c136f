"""Salesforce record ids: the 15-character case-sensitive form and its 18-character checksum form.

The gateway checks ids it is configured with (a mistyped ``SF_ORG_ID`` fails at start-up, not
at the first Outbound Message) and compares ids on their first 15 characters, since Salesforce
sends 18 but admins often paste 15. Written here rather than imported from the emulator, so the
emulator stays an independent witness.
"""

from __future__ import annotations

import re

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_SHAPE = re.compile(r"^[A-Za-z0-9]{15}([A-Z0-5]{3})?$")


def checksum(id15: str) -> str:
    """The three characters Salesforce appends: one per 5-character chunk, a bit per capital letter."""
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, char in enumerate(id15[start : start + 5]) if "A" <= char <= "Z")
        suffix += _ALPHABET[bits]
    return suffix


def is_valid(value: str) -> bool:
    """A 15-character id, or an 18-character one whose checksum matches."""
    if not _SHAPE.match(value):
        return False
    return len(value) == 15 or value[15:] == checksum(value[:15])


def to18(value: str) -> str:
    if not is_valid(value):
        raise ValueError(f"not a Salesforce id: {value!r}")
    return value if len(value) == 18 else value + checksum(value)


def same(a: str, b: str) -> bool:
    """Whether two ids (15 or 18 characters) name the same record."""
    return a[:15] == b[:15]
