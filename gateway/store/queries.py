"""Load ``queries.sql`` into named statements, one set per SQL dialect.

Keeping every statement in one readable file (as procrastinate does) means a reviewer can see
all the SQL the gateway runs without reading Python. Statements use ``:name`` parameters;
:func:`to_pyformat` turns them into psycopg's ``%(name)s`` for PostgreSQL, while sqlite3
takes ``:name`` as it is.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Literal

Dialect = Literal["sqlite", "postgresql"]

_NAME_LINE = re.compile(r"^-- name: (?P<name>[a-z_]+)(?:@(?P<dialect>sqlite|postgresql))?\s*$", re.M)
# ":name" but not "::type" casts, and not inside a longer word.
_INCLUDE = re.compile(r"\{([a-z_]+)\}")
_PARAM = re.compile(r"(?<![:\w]):(?P<name>[a-zA-Z_]\w*)")


def parse(text: str) -> dict[Dialect, dict[str, str]]:
    """Split the file on ``-- name:`` lines; dialect-tagged blocks override the plain one."""
    common: dict[str, str] = {}
    overrides: dict[Dialect, dict[str, str]] = {"sqlite": {}, "postgresql": {}}
    matches = list(_NAME_LINE.finditer(text))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        body = _strip_comments(text[match.end() : end])
        dialect = match.group("dialect")
        if dialect is None:
            common[match.group("name")] = body
        else:
            overrides[dialect][match.group("name")] = body  # type: ignore[index]  # regex admits only the two
    return {dialect: _include({**common, **overrides[dialect]}) for dialect in ("sqlite", "postgresql")}


def _include(statements: dict[str, str]) -> dict[str, str]:
    """Replace ``{name}`` with statement ``name``; other braces (``{rows}``) are left for later."""
    return {
        name: _INCLUDE.sub(lambda m: statements.get(m.group(1), m.group(0)), sql).strip()
        for name, sql in statements.items()
    }


def _strip_comments(block: str) -> str:
    lines = [line for line in block.splitlines() if not line.lstrip().startswith("--")]
    return "\n".join(lines).strip().rstrip(";")


def to_pyformat(sql: str) -> str:
    """``:name`` → ``%(name)s`` (psycopg); literal ``%`` doubled so psycopg leaves it alone."""
    return _PARAM.sub(lambda m: f"%({m.group('name')})s", sql.replace("%", "%%"))


@cache
def load(dialect: Dialect) -> dict[str, str]:
    text = resources.files("gateway.store").joinpath("queries.sql").read_text(encoding="utf-8")
    queries = parse(text)[dialect]
    if dialect == "postgresql":
        return {name: to_pyformat(sql) for name, sql in queries.items()}
    return queries
