"""Payloads are stored as the JSON the standard library would write, only faster.

``to_json`` uses orjson and falls back to the standard library for what orjson refuses; these
tests pin that the choice never shows: the same payloads are accepted and refused, and what is
stored reads back as the same value.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.store import Store
from gateway.store.payload_json import to_json

pytestmark = pytest.mark.anyio

# What transport code builds payloads from: parsed JSON bodies and fields of parsed XML.
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=20,
)


def standard_library(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@given(JSON_VALUES)
def test_any_json_value_reads_back_as_the_standard_library_would_store_it(value: Any) -> None:
    assert json.loads(to_json(value)) == json.loads(standard_library(value))


def test_text_in_any_script_is_stored_unescaped_and_compact() -> None:
    stored = to_json({"text": '你好 "quoted"\n', "n": [1, 2.5]})
    assert stored == '{"text":"你好 \\"quoted\\"\\n","n":[1,2.5]}'


def test_an_integer_beyond_64_bits_is_stored_exactly() -> None:
    assert json.loads(to_json({"n": 2**70, "m": -(2**64)})) == {"n": 2**70, "m": -(2**64)}


def test_keys_that_are_not_text_become_text_as_in_the_standard_library() -> None:
    keys: dict[Any, str] = {7: "a", None: "b", False: "c", 2.5: "d"}
    assert to_json(keys) == standard_library(keys)


@pytest.mark.parametrize(
    ("payload", "stored"),
    [
        ({"n": math.nan}, {"n": None}),
        ({"n": [math.inf, -math.inf]}, {"n": [None, None]}),
        ({"n": math.nan, "big": 2**70}, {"n": None, "big": 2**70}),  # the standard library's path
    ],
    ids=["nan", "infinities", "nan-beside-a-big-integer"],
)
def test_numbers_json_cannot_express_are_stored_as_null_on_every_path(
    payload: dict[str, Any], stored: dict[str, Any]
) -> None:
    assert json.loads(to_json(payload)) == stored  # NaN != NaN, so a stored NaN token fails here


@dataclasses.dataclass
class Point:
    x: int


@pytest.mark.parametrize(
    "value",
    [datetime.datetime(2026, 11, 25), datetime.date(2026, 11, 25), Point(1), object(), {1, 2}],
    ids=["datetime", "date", "dataclass", "object", "set"],
)
def test_a_value_the_standard_library_refuses_is_refused(value: object) -> None:
    with pytest.raises(TypeError):
        to_json({"value": value})


def test_a_uuid_is_stored_as_its_text_where_the_standard_library_would_refuse_it() -> None:
    # The one difference orjson brings: it knows UUIDs (and enums); neither ever reaches
    # here from a parsed JSON body or XML, and the text is what a handler would want.
    assert to_json({"id": uuid.UUID(int=1)}) == '{"id":"00000000-0000-0000-0000-000000000001"}'


async def test_what_is_stored_is_what_a_handler_reads_back(store: Store) -> None:
    payload = {"text": "你好", "seq": 2**65, "score": math.inf, "nested": [{"a": None}]}
    result = await store.inbox.enqueue("tencent", "m-1", "im.message", "g-1", payload)
    detail = await store.inbox.show(result.id)
    assert detail is not None
    assert detail.payload == {"text": "你好", "seq": 2**65, "score": None, "nested": [{"a": None}]}
