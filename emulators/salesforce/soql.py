"""A small, strict SOQL parser: the subset the gateway needs, and nothing that could answer wrong.

Grammar (keywords in any letter case; docs/salesforce.md#soql-query)::

    SELECT field [, field]* FROM object
      [WHERE condition [AND condition]*]
      [ORDER BY field [ASC | DESC] [NULLS FIRST | NULLS LAST]]
      [LIMIT n]

    condition := field = value | field != value | field LIKE 'pattern' | field IN ('a' [, 'b']*)
    value     := 'string' | TRUE | FALSE | NULL

Strings take SOQL's escapes (``\\' \\" \\\\ \\n \\r \\t \\b \\f \\uXXXX``, and ``\\%`` ``\\_`` in
LIKE only); any other backslash is an error, as in Salesforce. Everything else (OR, NOT,
parentheses, relationships ``Owner.Name``, functions, date literals, OFFSET, GROUP BY…) is
refused as MALFORMED_QUERY: a query the emulator cannot answer exactly is never answered
approximately. Field and object names are resolved later, by :mod:`.query`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A LIKE wildcard escaped with a backslash stays two characters in a literal's parts, so a
# pattern can tell "\\%" (a percent sign) from "%" (any characters).
ESCAPED_WILDCARDS = frozenset({"\\%", "\\_"})
# A backslash-b is "Bell" in the English reference and backspace in the Japanese one; we read backspace.
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[0-9]+")
_OPERATORS = ("!=", "<=", ">=", "<>", "=", "<", ">")
_SPACE = " \t\r\n"


class SoqlError(Exception):
    """A query Salesforce would refuse: its errorCode, the message's last line, and where."""

    def __init__(self, code: str, detail: str, offset: int) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.offset = offset

    def message(self, text: str) -> str:
        """Salesforce's shape: the query line, a caret under the spot, then ``ERROR at Row:…``.

        Seen in real answers (docs/salesforce.md#soql-query): ``"\\nSELECT … \\n   ^\\nERROR at
        Row:1:Column:78\\nunexpected token: 'From'"``.
        """
        before = text[: self.offset]
        row = before.count("\n") + 1
        column = self.offset - (before.rfind("\n") + 1) + 1
        line = text.split("\n")[row - 1]
        return f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{self.detail}"


@dataclass(frozen=True)
class Token:
    kind: str  # name | string | number | op | punct | end
    text: str  # as written (for names, numbers, operators, punctuation)
    offset: int
    parts: tuple[str, ...] = ()  # a string's characters, escaped wildcards kept as two


@dataclass(frozen=True)
class Name:
    text: str
    offset: int


@dataclass(frozen=True)
class Literal:
    parts: tuple[str, ...]
    offset: int

    @property
    def has_escaped_wildcard(self) -> bool:
        return any(p in ESCAPED_WILDCARDS for p in self.parts)

    @property
    def text(self) -> str:
        return "".join(self.parts)


Value = Literal | bool | None | tuple[Literal, ...]


@dataclass(frozen=True)
class Condition:
    field: Name
    operator: str  # = | != | LIKE | IN
    value: Value
    offset: int  # of the value, where Salesforce points at a bad one


@dataclass(frozen=True)
class Order:
    field: Name
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Query:
    fields: tuple[Name, ...]
    sobject: Name
    where: tuple[Condition, ...]
    order: Order | None
    limit: int | None


def parse(text: str) -> Query:
    """Parse ``text``; :class:`SoqlError` (MALFORMED_QUERY) on anything outside the subset."""
    return _Parser(tokenize(text)).query()


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char in _SPACE:
            i += 1
        elif char == "'":
            token, i = _string(text, i)
            tokens.append(token)
        elif match := _NAME.match(text, i):
            tokens.append(Token("name", match.group(), i))
            i = match.end()
        elif match := _NUMBER.match(text, i):
            tokens.append(Token("number", match.group(), i))
            i = match.end()
        elif op := next((o for o in _OPERATORS if text.startswith(o, i)), None):
            tokens.append(Token("op", op, i))
            i += len(op)
        elif char in ",()":
            tokens.append(Token("punct", char, i))
            i += 1
        else:
            raise SoqlError("MALFORMED_QUERY", f"line 1:{i} no viable alternative at character '{char}'", i)
    tokens.append(Token("end", "<EOF>", len(text)))
    return tokens


def _string(text: str, start: int) -> tuple[Token, int]:
    parts: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "'":
            return Token("string", text[start : i + 1], start, tuple(parts)), i + 1
        if char != "\\":
            parts.append(char)
            i += 1
            continue
        code = text[i + 1 : i + 2]
        if code.lower() in _ESCAPES:
            parts.append(_ESCAPES[code.lower()])
            i += 2
        elif code in ("%", "_"):
            parts.append("\\" + code)
            i += 2
        elif code == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", text[i + 2 : i + 6]):
            parts.append(chr(int(text[i + 2 : i + 6], 16)))
            i += 6
        else:
            raise SoqlError("MALFORMED_QUERY", _bad_escape(text[start : i + 2], text[i : i + 2]), start)
    raise SoqlError("MALFORMED_QUERY", "unexpected token: '<EOF>'", len(text))


def _bad_escape(literal: str, sequence: str) -> str:
    return f"Invalid string literal {literal}... Illegal character sequence '{sequence}' in string literal."


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self._tokens = tokens
        self._at = 0

    def query(self) -> Query:
        self._keyword("SELECT")
        fields = [self._name()]
        while self._accept_punct(","):
            fields.append(self._name())
        self._keyword("FROM")
        sobject = self._name()
        where: list[Condition] = []
        if self._accept_keyword("WHERE"):
            where.append(self._condition())
            while self._accept_keyword("AND"):
                where.append(self._condition())
        order = self._order() if self._accept_keyword("ORDER") else None
        limit = None
        if self._accept_keyword("LIMIT"):
            limit = int(self._expect("number").text)
        self._expect("end")
        return Query(tuple(fields), sobject, tuple(where), order, limit)

    def _condition(self) -> Condition:
        field = self._name()
        token = self._next()
        if token.kind == "op" and token.text in ("=", "!="):
            value_token = self._peek()
            return Condition(field, token.text, self._scalar(), value_token.offset)
        if _is_keyword(token, "LIKE"):
            value = self._literal()
            return Condition(field, "LIKE", value, value.offset)
        if _is_keyword(token, "IN"):
            opening = self._expect_punct("(")
            items = [self._literal()]
            while self._accept_punct(","):
                items.append(self._literal())
            self._expect_punct(")")
            return Condition(field, "IN", tuple(items), opening.offset)
        raise _unexpected(token)

    def _scalar(self) -> Literal | bool | None:
        token = self._peek()
        if token.kind == "string":
            return self._literal()
        for word, value in (("TRUE", True), ("FALSE", False), ("NULL", None)):
            if _is_keyword(token, word):
                self._at += 1
                return value
        raise _unexpected(token)

    def _literal(self) -> Literal:
        token = self._expect("string")
        return Literal(token.parts, token.offset)

    def _order(self) -> Order:
        self._keyword("BY")
        field = self._name()
        descending = False
        if self._accept_keyword("DESC"):
            descending = True
        else:
            self._accept_keyword("ASC")
        nulls_last = False
        if self._accept_keyword("NULLS"):
            token = self._next()
            if not (_is_keyword(token, "FIRST") or _is_keyword(token, "LAST")):
                raise _unexpected(token)
            nulls_last = _is_keyword(token, "LAST")
        return Order(field, descending, nulls_last)

    # ---- token plumbing ---------------------------------------------------------------
    def _peek(self) -> Token:
        return self._tokens[self._at]

    def _next(self) -> Token:
        token = self._tokens[self._at]
        if token.kind != "end":
            self._at += 1
        return token

    def _expect(self, kind: str) -> Token:
        token = self._next()
        if token.kind != kind:
            raise _unexpected(token)
        return token

    def _name(self) -> Name:
        token = self._expect("name")
        if token.text.upper() in _RESERVED:
            raise _unexpected(token)
        return Name(token.text, token.offset)

    def _keyword(self, word: str) -> None:
        token = self._next()
        if not _is_keyword(token, word):
            raise _unexpected(token)

    def _accept_keyword(self, word: str) -> bool:
        if _is_keyword(self._peek(), word):
            self._at += 1
            return True
        return False

    def _expect_punct(self, char: str) -> Token:
        token = self._next()
        if token.kind != "punct" or token.text != char:
            raise _unexpected(token)
        return token

    def _accept_punct(self, char: str) -> bool:
        token = self._peek()
        if token.kind == "punct" and token.text == char:
            self._at += 1
            return True
        return False


# Words that cannot name a field or object here (a subset of SOQL's reserved words).
_RESERVED = frozenset(
    {
        *("AND", "ASC", "BY", "DESC", "FALSE", "FIRST", "FROM", "GROUP", "HAVING", "IN", "LAST"),
        *("LIKE", "LIMIT", "NOT", "NULL", "NULLS", "OFFSET", "OR", "ORDER", "SELECT", "TRUE"),
        *("USING", "WHERE", "WITH"),
    }
)


def _is_keyword(token: Token, word: str) -> bool:
    return token.kind == "name" and token.text.upper() == word


def _unexpected(token: Token) -> SoqlError:
    return SoqlError("MALFORMED_QUERY", f"unexpected token: '{token.text}'", token.offset)
