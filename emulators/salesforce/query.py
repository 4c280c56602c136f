"""Runs parsed SOQL against the org's records and pages the answer like the Query resource.

A query answers ``{totalSize, done, records[, nextRecordsUrl]}``; each record carries
``attributes: {type, url}`` and the selected fields under their API names. Past the batch
size (2,000, or the configured lower one) the answer keeps the rest behind a query locator,
fetched with ``GET …/query/{locator}-{offset}`` (docs/salesforce.md#soql-query).

Names resolve as in Salesforce: objects and fields in any letter case; an unknown object is
INVALID_TYPE, an unknown field INVALID_FIELD; a value of the wrong type for its field is
refused, never coerced. Error messages carry the query line and a caret (:mod:`.soql`).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import fields, ids
from . import rest_errors as err
from .fields import Field
from .records import Record
from .soql import Condition, Literal, Name, Query, SoqlError, parse

MAX_OPEN_CURSORS = 100


@dataclass(frozen=True)
class _Resolved:
    sobject: str
    spec: Mapping[str, Field]


def run(text: str, sources: Mapping[str, Iterable[Record]], version: str) -> list[dict[str, Any]]:
    """Every record ``text`` selects, rendered as the REST answer shows it."""
    try:
        query = parse(text)
        resolved = _resolve(query)
        selected = [_field(resolved, n)[0] for n in query.fields]
        _no_duplicates(query.fields, selected)
        tests = [_compile(resolved, c) for c in query.where]
        order = _sort_key(resolved, query) if query.order else None
    except SoqlError as exc:
        raise err.ApiError(400, exc.code, exc.message(text)) from None
    rows = [r for r in sources[resolved.sobject] if all(test(r) for test in tests)]
    if query.order is not None and order is not None:
        rows = _ordered(rows, order, query.order.descending, query.order.nulls_last)
    if query.limit is not None:
        rows = rows[: query.limit]
    return [_render(resolved.sobject, r, selected, version) for r in rows]


class Cursors:
    """Query locators: what is left of each paged answer, by locator id (``01g…``)."""

    def __init__(self, new_id: Callable[[], str], batch_size: int) -> None:
        self._new_id = new_id
        self.batch_size = batch_size
        self._open: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()

    def first_page(self, rows: list[dict[str, Any]], version: str) -> dict[str, Any]:
        if len(rows) <= self.batch_size:
            return {"totalSize": len(rows), "done": True, "records": rows}
        locator = self._new_id()
        self._open[locator] = rows
        while len(self._open) > MAX_OPEN_CURSORS:
            self._open.popitem(last=False)
        return self._page(locator, 0, version)

    def next_page(self, reference: str, version: str) -> dict[str, Any]:
        """The page at ``{locator}-{offset}``; an unknown locator is INVALID_QUERY_LOCATOR."""
        locator, _, offset = reference.rpartition("-")
        rows = self._open.get(locator)
        if rows is None or not offset.isdigit() or not 0 < int(offset) < len(rows):
            # Unverified: the code and message Salesforce uses for a bad or expired locator.
            raise err.ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(locator, int(offset), version)

    def _page(self, locator: str, offset: int, version: str) -> dict[str, Any]:
        rows = self._open[locator]
        end = offset + self.batch_size
        page: dict[str, Any] = {"totalSize": len(rows), "done": end >= len(rows)}
        if end < len(rows):
            page["nextRecordsUrl"] = f"/services/data/{version}/query/{locator}-{end}"
        page["records"] = rows[offset:end]
        return page


# ---- names ----------------------------------------------------------------------------------
def _resolve(query: Query) -> _Resolved:
    lowered = query.sobject.text.lower()
    name = next((s for s in fields.SPECS if s.lower() == lowered), None)
    if name is None:
        raise SoqlError(
            "INVALID_TYPE",
            f"sObject type '{query.sobject.text}' is not supported. If you are attempting to use a "
            "custom object, be sure to append the '__c' after the entity name. Please reference "
            "your WSDL or the describe call for the appropriate names.",
            query.sobject.offset,
        )
    return _Resolved(name, fields.SPECS[name])


def _field(resolved: _Resolved, name: Name) -> tuple[str, Field]:
    found = fields.lookup(resolved.spec, name.text)
    if found is None or not found[1].queryable:
        raise SoqlError(
            "INVALID_FIELD",
            f"No such column '{name.text}' on entity '{resolved.sobject}'. If you are attempting to "
            "use a custom field, be sure to append the '__c' after the custom field name. Please "
            "reference your WSDL or the describe call for the appropriate names.",
            name.offset,
        )
    return found


def _no_duplicates(names: tuple[Name, ...], selected: list[str]) -> None:
    seen: set[str] = set()
    for name, api_name in zip(names, selected, strict=True):
        if api_name in seen:
            # Unverified: the message for a field selected twice.
            raise SoqlError("MALFORMED_QUERY", f"duplicate field selected: {api_name}", name.offset)
        seen.add(api_name)


# ---- WHERE ----------------------------------------------------------------------------------
Predicate = Callable[[Record], bool]


def _compile(resolved: _Resolved, condition: Condition) -> Predicate:
    """A predicate for one condition, after refusing operators and values its field cannot take.

    Unverified: the exact messages for a value of the wrong type (docs/salesforce.md#soql-query).
    """
    name, spec = _field(resolved, condition.field)
    if not spec.filterable:
        raise SoqlError(
            "INVALID_FIELD", f"field '{name}' can not be filtered in a query call", condition.field.offset
        )
    values = condition.value if isinstance(condition.value, tuple) else (condition.value,)
    for value in values:
        _check_value(name, spec, condition, value)
    if condition.operator == "LIKE":
        assert isinstance(condition.value, Literal)
        pattern = _like(condition.value)
        return lambda r: isinstance(r.get(name), str) and pattern.fullmatch(r[name]) is not None
    wanted = [v.text if isinstance(v, Literal) else v for v in values]
    if condition.operator == "IN":
        return lambda r: r.get(name) is not None and any(fields.same_value(spec, r[name], w) for w in wanted)
    equal = _equals(spec, name, wanted[0])
    return equal if condition.operator == "=" else lambda r: not equal(r)


def _equals(spec: Field, name: str, wanted: object) -> Predicate:
    if wanted is None:
        return lambda r: r.get(name) is None
    return lambda r: r.get(name) is not None and fields.same_value(spec, r[name], wanted)


def _check_value(name: str, spec: Field, condition: Condition, value: object) -> None:
    textual = spec.kind in ("string", "picklist", "id", "reference")
    if condition.operator == "LIKE" and spec.kind not in ("string", "picklist"):
        raise SoqlError("INVALID_FIELD", f"invalid operator on {spec.kind} field", condition.offset)
    if isinstance(value, Literal):
        if value.has_escaped_wildcard and condition.operator != "LIKE":
            raise SoqlError(
                "MALFORMED_QUERY",
                f"Illegal character sequence in string literal '{value.text}' (\\% and \\_ are for LIKE)",
                value.offset,
            )
        if not textual:
            raise SoqlError("INVALID_FIELD", _type_message(name, spec, quoted=False), value.offset)
        if spec.kind in ("id", "reference") and not ids.is_valid(value.text):
            # Unverified: seen in practice as INVALID_QUERY_FILTER_OPERATOR "invalid ID field: …".
            raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {value.text}", value.offset)
    elif value is not None and spec.kind != "boolean":  # TRUE or FALSE on a non-boolean
        raise SoqlError("INVALID_FIELD", _type_message(name, spec, quoted=textual), condition.offset)


def _type_message(name: str, spec: Field, *, quoted: bool) -> str:
    kind = {"datetime": "dateTime", "reference": "id", "picklist": "string"}.get(spec.kind, spec.kind)
    enclosed = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
    return f"value of filter criterion for field '{name}' must be of type {kind} and {enclosed}"


def _like(literal: Literal) -> re.Pattern[str]:
    """LIKE as a regex: ``%`` any run, ``_`` one character, case-insensitive; ``\\%``/``\\_`` literal."""
    pieces = []
    for part in literal.parts:
        if part == "%":
            pieces.append(".*")
        elif part == "_":
            pieces.append(".")
        else:
            pieces.append(re.escape(part[-1]))
    return re.compile("".join(pieces), re.IGNORECASE | re.DOTALL)


# ---- ORDER BY, rendering --------------------------------------------------------------------
def _sort_key(resolved: _Resolved, query: Query) -> Callable[[Record], Any]:
    assert query.order is not None
    name, spec = _field(resolved, query.order.field)
    if not spec.filterable:
        raise SoqlError(
            "INVALID_FIELD", f"field '{name}' can not be sorted in a query call", query.order.field.offset
        )
    # Sorting is case-insensitive (docs/salesforce.md#soql-query).
    return lambda r: r[name].casefold() if isinstance(r.get(name), str) else r.get(name)


def _ordered(
    rows: list[Record], key: Callable[[Record], Any], descending: bool, nulls_last: bool
) -> list[Record]:
    """Nulls first unless NULLS LAST, whichever the direction (Salesforce's default)."""
    nulls = [r for r in rows if key(r) is None]
    values = sorted((r for r in rows if key(r) is not None), key=key, reverse=descending)
    return values + nulls if nulls_last else nulls + values


def _render(sobject: str, record: Record, selected: list[str], version: str) -> dict[str, Any]:
    url = f"/services/data/{version}/sobjects/{sobject}/{record['Id']}"
    row: dict[str, Any] = {"attributes": {"type": sobject, "url": url}}
    for name in selected:
        if fields.SPECS[sobject][name].kind == "base64":
            row[name] = f"{url}/{name}"  # blobs come as a URL to fetch, as in a GET
        else:
            row[name] = fields.to_json(record.get(name))
    return row
