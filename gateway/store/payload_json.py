"""An event's payload as the JSON text the inbox stores.

Why orjson and not the standard library's encoder: this runs on the event loop for every
inbound event, before the request may be acknowledged, and escaping the body's strings was a
large share of the work of storing an event with the standard library's C encoder; orjson
escapes with vector instructions (the counts are in ``bench/NOTES.md``). orjson is also among
the most widely used and best kept JSON libraries for Python, with wheels for every platform
we run on.

Two rules keep the choice invisible to callers:

- what orjson refuses (integers beyond 64 bits, dict keys that are not strings, strings with
  lone surrogates, types JSON has no form for) goes through the standard library instead, so
  the same payloads are accepted and refused, with the standard library's messages. (One
  exception: orjson writes UUIDs and enums as their text and value where the standard library
  refuses them; neither comes out of a parsed JSON body or XML.)
- NaN and ±Infinity, which JSON has no numbers for, are stored as ``null`` on both paths (as
  orjson and JavaScript's ``JSON.stringify`` do), so a stored payload is always valid JSON that
  any tool can read back.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

# Dates and dataclasses, which orjson would turn into text by itself, are refused as the
# standard library refuses them (orjson has no such switch for UUIDs and enums: see above).
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

# One encoder for the fallback: json.dumps with options builds a new encoder on each call.
_STDLIB_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def to_json(payload: Any) -> str:
    """``payload`` as compact JSON text; :class:`TypeError` or :class:`ValueError` if it has no JSON form."""
    try:
        return orjson.dumps(payload, option=_ORJSON_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return _STDLIB_ENCODE(_finite(payload))


def _finite(value: Any) -> Any:
    """``value`` with NaN and ±Infinity replaced by None, as orjson writes them (rare path only)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value
