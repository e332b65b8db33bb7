"""The run filter language: a tokenizer and a recursive-descent parser.

    metrics.auc > 0.9 and params.model = 'rf' and tags.team in ('growth', 'core')
    (status = 'FINISHED' or status = 'KILLED') and name like 'cv-%'

Grammar (keywords are case-insensitive)::

    filter     := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := atom ("and" atom)*
    atom       := "(" or_expr ")" | comparison
    comparison := field op value
                | field ["not"] "in" "(" value ("," value)* ")"
                | field ["not"] ("like" | "ilike") string
    field      := ("metrics" | "params" | "tags") "." key | ["attributes" "."] attribute
    key        := name-characters | `back-quoted key`
    op         := "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    value      := number | 'string' | "string"        (a quote is escaped by doubling it)
    order_by   := field ["asc" | "desc"]

The parser builds a small tree (:class:`Compare`, :class:`BoolOp`) that each
store compiles its own way (the SQL store into SQLAlchemy expressions); nothing
is ever pasted into SQL. Errors raise :class:`~shipyard.errors.InvalidInput`
with the position of the problem and a caret under it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from shipyard.errors import InvalidInput

__all__ = [
    "ATTRIBUTES",
    "BoolOp",
    "Compare",
    "Field",
    "Node",
    "OrderBy",
    "parse_filter",
    "parse_order_by",
]

#: Attributes of a run that a filter may name, and whether they compare as numbers.
ATTRIBUTES: dict[str, bool] = {
    "id": False,
    "name": False,
    "status": False,
    "user": False,
    "parent_run_id": False,
    "experiment_id": False,
    "git_commit": False,
    "start_time": True,
    "end_time": True,
}
_ATTRIBUTE_ALIASES = {"run_id": "id", "run_name": "name"}
_KINDS = {
    "metrics": "metrics",
    "metric": "metrics",
    "params": "params",
    "param": "params",
    "tags": "tags",
    "tag": "tags",
    "attributes": "attributes",
    "attribute": "attributes",
    "attr": "attributes",
}
_STATUSES = ("RUNNING", "FINISHED", "FAILED", "KILLED")
_KEYWORDS = {"and", "or", "not", "in", "like", "ilike", "asc", "desc"}
_COMPARE_OPS = ("=", "!=", "<", "<=", ">", ">=")
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_\-./:]+")


@dataclass(frozen=True)
class Field:
    kind: str  # metrics | params | tags | attributes
    key: str

    def render(self) -> str:
        if self.kind == "attributes":
            return self.key
        if _PLAIN_KEY.fullmatch(self.key) and self.key[0] != "-":
            return f"{self.kind}.{self.key}"
        return f"{self.kind}.`{self.key.replace('`', '``')}`"


@dataclass(frozen=True)
class Compare:
    """``field op value``; ``value`` is a float, a str, or a tuple of them for IN."""

    field: Field
    op: str  # = != < <= > >= in "not in" like "not like" ilike "not ilike"
    value: float | str | tuple[float | str, ...]

    def render(self) -> str:
        if isinstance(self.value, tuple):
            values = ", ".join(_render_value(v) for v in self.value)
            return f"{self.field.render()} {self.op} ({values})"
        return f"{self.field.render()} {self.op} {_render_value(self.value)}"


@dataclass(frozen=True)
class BoolOp:
    op: str  # and | or
    items: tuple[Node, ...]

    def render(self) -> str:
        return f" {self.op} ".join(f"({item.render()})" for item in self.items)


Node = Compare | BoolOp


@dataclass(frozen=True)
class OrderBy:
    field: Field
    descending: bool = False

    def render(self) -> str:
        return f"{self.field.render()} {'DESC' if self.descending else 'ASC'}"


def _render_value(value: float | str) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(float(value))


# -- tokens --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # field | number | string | op | ( | ) | , | keyword | end
    text: str
    pos: int
    value: object = None


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Lexer:
    def __init__(self, text: str, what: str) -> None:
        self.text = text
        self.what = what
        self.pos = 0

    def error(self, message: str, pos: int) -> InvalidInput:
        return _error(self.text, self.what, message, pos)

    def tokens(self) -> list[_Token]:
        out: list[_Token] = []
        text = self.text
        while True:
            while self.pos < len(text) and text[self.pos].isspace():
                self.pos += 1
            if self.pos >= len(text):
                out.append(_Token("end", "", self.pos))
                return out
            start = self.pos
            ch = text[start]
            if ch in "(),":
                self.pos += 1
                out.append(_Token(ch, ch, start))
            elif ch in "=!<>":
                two = text[start : start + 2]
                if two in ("!=", "<=", ">=", "<>"):
                    self.pos += 2
                    out.append(_Token("op", "!=" if two == "<>" else two, start))
                elif ch == "!":
                    raise self.error("'!' must be followed by '='", start)
                else:
                    self.pos += 1
                    out.append(_Token("op", ch, start))
            elif ch in "'\"":
                out.append(self._string(ch))
            elif (m := _NUMBER.match(text, start)) and not _WORD.match(text, m.end()):
                self.pos = m.end()
                out.append(_Token("number", m.group(), start, float(m.group())))
            elif m := _WORD.match(text, start):
                out.append(self._word(m))
            else:
                raise self.error(f"unexpected character {ch!r}", start)

    def _string(self, quote: str) -> _Token:
        start = self.pos
        self.pos += 1
        chars: list[str] = []
        text = self.text
        while True:
            end = text.find(quote, self.pos)
            if end < 0:
                raise self.error("this string is never closed; add the closing quote", start)
            chars.append(text[self.pos : end])
            if text.startswith(quote * 2, end):
                chars.append(quote)
                self.pos = end + 2
                continue
            self.pos = end + 1
            return _Token("string", text[start : self.pos], start, "".join(chars))

    def _word(self, m: re.Match[str]) -> _Token:
        start, word = m.start(), m.group()
        self.pos = m.end()
        lower = word.lower()
        if lower in _KINDS and self.pos < len(self.text) and self.text[self.pos] == ".":
            self.pos += 1
            kind = _KINDS[lower]
            key = self._key(start) if kind != "attributes" else self._attribute(start)
            return _Token("field", self.text[start : self.pos], start, Field(kind, key))
        if lower in _KEYWORDS:
            return _Token("keyword", lower, start)
        name = _ATTRIBUTE_ALIASES.get(lower, lower)
        if name in ATTRIBUTES:
            return _Token("field", word, start, Field("attributes", name))
        raise self.error(
            f"unknown name {word!r}; use metrics.<key>, params.<key>, tags.<key> or one of "
            f"the attributes {', '.join(ATTRIBUTES)}",
            start,
        )

    def _key(self, field_start: int) -> str:
        text = self.text
        if self.pos < len(text) and text[self.pos] == "`":
            start = self.pos
            self.pos += 1
            parts: list[str] = []
            while True:
                end = text.find("`", self.pos)
                if end < 0:
                    raise self.error("this `quoted key` is never closed", start)
                parts.append(text[self.pos : end])
                if text.startswith("``", end):
                    parts.append("`")
                    self.pos = end + 2
                    continue
                self.pos = end + 1
                key = "".join(parts)
                if not key:
                    raise self.error("empty key", start)
                return key
        m = _PLAIN_KEY.match(text, self.pos)
        if not m:
            raise self.error(
                "expected a key after the '.'; quote unusual keys in `backticks`", self.pos
            )
        self.pos = m.end()
        return m.group()

    def _attribute(self, field_start: int) -> str:
        m = _WORD.match(self.text, self.pos)
        name = _ATTRIBUTE_ALIASES.get(m.group().lower(), m.group().lower()) if m else ""
        if name not in ATTRIBUTES:
            raise self.error(
                f"unknown attribute; use one of {', '.join(ATTRIBUTES)}",
                self.pos,
            )
        self.pos = m.end()  # type: ignore[union-attr]
        return name


def _error(text: str, what: str, message: str, pos: int) -> InvalidInput:
    return InvalidInput(
        f"Bad {what} at position {pos}: {message}.\n  {text}\n  {' ' * pos}^",
        position=pos,
    )


# -- parser --------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str, what: str) -> None:
        self.text = text
        self.what = what
        self.tokens = _Lexer(text, what).tokens()
        self.i = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def error(self, message: str, tok: _Token | None = None) -> InvalidInput:
        tok = tok or self.tok
        got = "the end" if tok.kind == "end" else repr(tok.text)
        return _error(self.text, self.what, f"{message}, got {got}", tok.pos)

    def take(self, kind: str, text: str | None = None) -> _Token | None:
        tok = self.tok
        if tok.kind == kind and (text is None or tok.text == text):
            self.i += 1
            return tok
        return None

    def expect(self, kind: str, text: str | None, message: str) -> _Token:
        tok = self.take(kind, text)
        if tok is None:
            raise self.error(message)
        return tok

    def parse_filter(self) -> Node:
        node = self.or_expr()
        if self.tok.kind != "end":
            raise self.error("expected 'and', 'or' or the end of the filter")
        return node

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while self.take("keyword", "or"):
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def and_expr(self) -> Node:
        items = [self.atom()]
        while self.take("keyword", "and"):
            items.append(self.atom())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def atom(self) -> Node:
        if self.take("("):
            node = self.or_expr()
            self.expect(")", None, "expected ')' to close the '('")
            return node
        return self.comparison()

    def comparison(self) -> Compare:
        field_tok = self.expect(
            "field", None, "expected a field such as metrics.auc, params.lr or status"
        )
        field: Field = field_tok.value  # type: ignore[assignment]
        negate = bool(self.take("keyword", "not"))
        if self.take("keyword", "in"):
            self.expect("(", None, "expected '(' to start the list after 'in'")
            values = [self.value(field)]
            while self.take(","):
                values.append(self.value(field))
            self.expect(")", None, "expected ',' or ')' in the list")
            return Compare(field, "not in" if negate else "in", tuple(values))
        for word in ("like", "ilike"):
            if tok := self.take("keyword", word):
                if field.kind == "metrics" or ATTRIBUTES.get(field.key, False):
                    raise self.error(
                        f"'{word}' compares text, but {field.render()} is a number", tok
                    )
                pattern = self.expect("string", None, f"expected a quoted pattern after '{word}'")
                return Compare(field, f"not {word}" if negate else word, pattern.value)  # type: ignore[arg-type]
        if negate:
            raise self.error("expected 'in', 'like' or 'ilike' after 'not'")
        op = self.expect("op", None, "expected a comparison (=, !=, <, <=, >, >=, in, like)")
        return Compare(field, op.text, self.value(field))

    def value(self, field: Field) -> float | str:
        tok = self.tok
        numeric = field.kind == "metrics" or ATTRIBUTES.get(field.key, False)
        if tok.kind == "number":
            self.i += 1
            # params and tags are text: compare with the number as written
            return float(tok.value) if numeric else tok.text  # type: ignore[arg-type]
        if tok.kind == "string":
            self.i += 1
            text: str = tok.value  # type: ignore[assignment]
            if field.kind == "metrics":
                raise self.error(f"{field.render()} is a number; compare it with a number", tok)
            if numeric:
                return self._time(text, tok)
            if field == Field("attributes", "status"):
                status = text.upper()
                if status not in _STATUSES:
                    raise self.error(f"status must be one of {', '.join(_STATUSES)}", tok)
                return status
            return text
        raise self.error("expected a value (a number or a quoted string)")

    def _time(self, text: str, tok: _Token) -> float:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise self.error(
                "a time must be milliseconds since the epoch or an ISO date such as "
                "'2026-01-31' or '2026-01-31T12:00:00+00:00'",
                tok,
            ) from None
        if moment.tzinfo is None:
            from datetime import UTC

            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp() * 1000

    def order_by(self) -> OrderBy:
        field_tok = self.expect("field", None, "expected a field to order by, such as metrics.auc")
        descending = False
        if self.take("keyword", "desc"):
            descending = True
        else:
            self.take("keyword", "asc")
        if self.tok.kind != "end":
            raise self.error("expected 'asc', 'desc' or the end")
        return OrderBy(field_tok.value, descending)  # type: ignore[arg-type]


def parse_filter(text: str) -> Node | None:
    """Parse a filter; an empty or blank filter means "every run" and gives None."""
    if not isinstance(text, str):
        raise InvalidInput(f"A filter must be a string; got {text!r} ({type(text).__name__}).")
    if not text.strip():
        return None
    return _Parser(text, "filter").parse_filter()


def parse_order_by(text: str) -> OrderBy:
    """Parse one order-by clause such as ``metrics.auc DESC`` or ``start_time``."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(
            f"An order_by clause must be a field and an optional ASC/DESC, such as "
            f"'metrics.auc DESC'; got {text!r}."
        )
    return _Parser(text, "order_by").order_by()
