"""Quoting values for SOQL, so no caller ever builds a WHERE clause from a raw string.

SOQL strings are single-quoted with backslash escapes (docs/salesforce.md#soql-query). A value
quoted here compares with ``=``, ``!=`` and ``IN``; a LIKE pattern needs ``%`` and ``_``
escaped as well, which this does not do (those escapes are errors outside LIKE).
"""

from __future__ import annotations

# "\b" is left out on purpose: the English reference calls it Bell, the Japanese backspace.
_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f"}


def soql_literal(value: str) -> str:
    """``value`` as a quoted SOQL string literal: ``it's`` becomes ``'it\\'s'``.

    Backslash, both quotes, newline, carriage return, tab and form feed take their escapes;
    any other control character is written ``\\uXXXX``; everything else stays as it is.
    """
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "'" + "".join(out) + "'"
