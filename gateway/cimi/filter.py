"""CIMI's ``$filter`` (DSP0263 4.1.6.1): one tokenizer, one parser, typed by schema.

The grammar, as the peers implement DSP0263 1.0.1 (see the README, Queries):

    filter     = and-expr { "or" and-expr }
    and-expr   = unary { "and" unary }
    unary      = "not" "(" filter ")" | "(" filter ")" | comparison
    comparison = operand op operand        (one side an attribute, one a literal)
    operand    = name | "property" "[" string "]" | literal
    op         = "=" | "!=" | "<" | "<=" | ">" | ">=" | "^="
    literal    = string | integer | date | "true" | "false" | "null"

``and`` binds tighter than ``or``; both are loops, not recursion, so a filter
of thousands of terms parses in linear time. Only parentheses nest, to a bound.
Extensions beyond the core: ``null``, ``^=`` (string prefix) and ``not(...)``.

Each comparison is checked against the resource type's attribute table when
it is parsed: an unknown attribute, a literal of the wrong type or an operator
the type has no use for is a ``BadRequest`` naming the token and its position.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any

from gateway.cimi.errors import BadRequest
from gateway.cimi.schema import Attr
from gateway.cimi.schema import Kind
from gateway.cimi.schema import ResourceType

#: how deep parentheses and ``not(...)`` may nest.
MAX_DEPTH = 64
#: the operator and function extensions this filter understands beyond the core.
EXTENSIONS = ("null", "^=", "not")

# One alternation, tried in this order at each position. ASCII only: a
# Unicode digit or space is not one here.
_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\n]+)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2}
        (?:T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?)?)
  | (?P<integer>[0-9]+)
  | (?P<op>!=|<=|>=|\^=|=|<|>)
  | (?P<punct>[()\[\]])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE | re.ASCII | re.DOTALL,
)
_KEYWORDS = frozenset({"and", "or", "not", "true", "false", "null", "property"})
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


@dataclass(frozen=True)
class Token:
    kind: str  # string, date, integer, op, punct, name, end
    text: str
    pos: int  # 1-based character position in the filter


def tokens(text: str) -> Iterator[Token]:
    """Yield the tokens of ``text``, then an ``end`` token.

    Raises:
        BadRequest: at the first character that starts no token.
    """
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos] in "'\"":
                raise _error(pos + 1, "a string is not closed")
            raise _error(pos + 1, f"unexpected {text[pos]!r}")
        kind = match.lastgroup or ""
        if kind != "space":
            yield Token(kind, match.group(), pos + 1)
        pos = match.end()
    yield Token("end", "", len(text) + 1)


# -- the tree -----------------------------------------------------------------

#: a compiled filter: true for the resource values it keeps.
Predicate = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class Comparison:
    """``attr op value``, attribute on the left; ``key`` for ``property['k']``."""

    attr: Attr
    op: str
    value: Any  # str, int, bool, datetime, or None for null
    key: str | None = None

    def __call__(self, values: Mapping[str, Any]) -> bool:
        actual = _value(self.attr, values.get(self.attr.name), self.key)
        if self.value is None:  # the null extension: absent or empty
            absent = actual is None
            return absent if self.op == "=" else not absent
        if actual is None:
            # `!=` is the negation of `=`: an absent value is not equal.
            return self.op == "!="
        if self.op == "^=":
            return actual.startswith(self.value)
        return _COMPARE[self.op](actual, self.value)


@dataclass(frozen=True)
class AllOf:
    terms: tuple[Predicate, ...]

    def __call__(self, values: Mapping[str, Any]) -> bool:
        return all(term(values) for term in self.terms)


@dataclass(frozen=True)
class AnyOf:
    terms: tuple[Predicate, ...]

    def __call__(self, values: Mapping[str, Any]) -> bool:
        return any(term(values) for term in self.terms)


@dataclass(frozen=True)
class Negation:
    term: Predicate

    def __call__(self, values: Mapping[str, Any]) -> bool:
        return not self.term(values)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_FLIPPED = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _value(attr: Attr, value: Any, key: str | None) -> Any:
    """Return what a comparison sees of an attribute's value; None if absent."""
    if attr.kind is Kind.PROPERTIES:
        value = (value or {}).get(key)
    elif attr.kind is Kind.EXPANDABLE:
        value = (value or {}).get("href")
    elif attr.kind is Kind.REF and isinstance(value, Mapping):
        value = value.get("href")
    # The wire omits empty values; a filter sees them as absent too.
    if value is None or value == "":
        return None
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


# -- parsing ------------------------------------------------------------------

#: the attribute kinds a filter can compare, and the operators each takes.
_STRING_OPS = frozenset({"=", "!=", "<", "<=", ">", ">=", "^="})
_ORDERED_OPS = frozenset({"=", "!=", "<", "<=", ">", ">="})
_EQUALITY_OPS = frozenset({"=", "!="})
OPERATORS: dict[Kind, frozenset[str]] = {
    Kind.TEXT: _STRING_OPS,
    Kind.URI: _STRING_OPS,
    Kind.ENUM: _STRING_OPS,
    Kind.REF: _STRING_OPS,
    Kind.EXPANDABLE: _STRING_OPS,
    Kind.PROPERTIES: _STRING_OPS,
    Kind.INTEGER: _ORDERED_OPS,
    Kind.DATETIME: _ORDERED_OPS,
    Kind.BOOLEAN: _EQUALITY_OPS,
}


def attribute(rtype: ResourceType, name: str) -> Attr | None:
    """Return the attribute a query names, by its XML or JSON name."""
    found = rtype.by_name.get(name)
    if found is not None:
        return found
    return next((a for a in rtype.attrs if a.json_key == name), None)


def parse(texts: list[str], rtype: ResourceType) -> Predicate:
    """Return the predicate the ``$filter`` values ``texts`` ask for, AND-ed.

    Raises:
        BadRequest: naming the token, and its position, that does not fit.
    """
    terms = tuple(_Parser(text, rtype).parse() for text in texts)
    return terms[0] if len(terms) == 1 else AllOf(terms)


class _Parser:
    def __init__(self, text: str, rtype: ResourceType) -> None:
        if not text.strip():
            raise BadRequest("$filter: empty; leave the parameter out instead")
        self.rtype = rtype
        self.tokens = tokens(text)
        self.token = next(self.tokens)
        self.depth = 0

    def parse(self) -> Predicate:
        predicate = self._or()
        if self.token.kind != "end":
            raise self._unexpected("'and', 'or' or the end")
        return predicate

    def _advance(self) -> Token:
        token, self.token = self.token, next(self.tokens)
        return token

    def _is(self, text: str) -> bool:
        return self.token.kind in ("name", "punct") and self.token.text == text

    def _expect(self, text: str) -> Token:
        if not self._is(text):
            raise self._unexpected(f"'{text}'")
        return self._advance()

    def _or(self) -> Predicate:
        terms = [self._and()]
        while self._is("or"):
            self._advance()
            terms.append(self._and())
        return terms[0] if len(terms) == 1 else AnyOf(tuple(terms))

    def _and(self) -> Predicate:
        terms = [self._unary()]
        while self._is("and"):
            self._advance()
            terms.append(self._unary())
        return terms[0] if len(terms) == 1 else AllOf(tuple(terms))

    def _unary(self) -> Predicate:
        if self._is("not"):
            self._advance()
            self._expect("(")
            return Negation(self._nested())
        if self._is("("):
            self._advance()
            return self._nested()
        return self._comparison()

    def _nested(self) -> Predicate:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _error(self.token.pos, f"nested deeper than {MAX_DEPTH}")
        predicate = self._or()
        self._expect(")")
        self.depth -= 1
        return predicate

    def _comparison(self) -> Predicate:
        left = self._operand()
        if self.token.kind != "op":
            raise self._unexpected("an operator (= != < <= > >= ^=)")
        op = self._advance()
        right = self._operand()
        if isinstance(left, _Subject) == isinstance(right, _Subject):
            side = "two attributes" if isinstance(left, _Subject) else "two values"
            raise _error(op.pos, f"'{op.text}' compares {side}; compare one of each")
        if isinstance(left, _Subject):
            return left.compare(op, right)
        if op.text == "^=":
            raise _error(op.pos, "'^=' takes the attribute first")
        return right.compare(Token("op", _FLIPPED[op.text], op.pos), left)

    def _operand(self) -> _Subject | Token:
        token = self.token
        if token.kind in ("string", "integer", "date"):
            return self._advance()
        if token.kind == "name" and token.text in ("true", "false", "null"):
            return self._advance()
        if token.kind == "name" and token.text == "property":
            self._advance()
            self._expect("[")
            if self.token.kind != "string":
                raise self._unexpected("a quoted property key")
            key = _unquote(self._advance().text)
            self._expect("]")
            return _Subject(self.rtype, "properties", token.pos, key)
        if token.kind == "name" and token.text not in _KEYWORDS:
            self._advance()
            return _Subject(self.rtype, token.text, token.pos)
        raise self._unexpected("an attribute or a value")

    def _unexpected(self, wanted: str) -> BadRequest:
        found = repr(self.token.text) if self.token.kind != "end" else "the end"
        return _error(self.token.pos, f"expected {wanted}, found {found}")


class _Subject:
    """The attribute side of a comparison, checked against the type."""

    def __init__(
        self, rtype: ResourceType, name: str, pos: int, key: str | None = None
    ) -> None:
        attr = attribute(rtype, name)
        if attr is None:
            raise _error(pos, f"{rtype.name} has no attribute '{name}'")
        if attr.kind not in OPERATORS:
            raise _error(pos, f"'{name}' cannot be filtered on")
        if attr.kind is Kind.PROPERTIES and key is None:
            raise _error(pos, f"filter on one property: property['key']='{name}'")
        self.attr, self.name, self.pos, self.key = attr, name, pos, key

    def compare(self, op: Token, literal: Token) -> Comparison:
        kind = self.attr.kind
        if literal.text == "null" and literal.kind == "name":
            if op.text not in _EQUALITY_OPS:
                raise _error(op.pos, f"null takes = or !=, not '{op.text}'")
            return Comparison(self.attr, op.text, None, self.key)
        if op.text not in OPERATORS[kind]:
            raise _error(op.pos, f"'{op.text}' does not apply to '{self.name}'")
        return Comparison(self.attr, op.text, self._typed(literal), self.key)

    def _typed(self, literal: Token) -> Any:
        kind = self.attr.kind
        wrong = _error(
            literal.pos,
            f"'{self.name}' is {_DESCRIBED[kind]}, not {literal.text[:40]}",
        )
        if kind is Kind.INTEGER:
            if literal.kind != "integer":
                raise wrong
            # As the codec reads integers: 18 digits fit 64 bits (and int()
            # refuses past 4,300 with a ValueError, which would be a 500).
            if len(literal.text) > 18:
                raise _error(
                    literal.pos,
                    f"'{self.name}': {literal.text[:20]}... is out of range",
                )
            return int(literal.text)
        if kind is Kind.BOOLEAN:
            if literal.text not in ("true", "false") or literal.kind != "name":
                raise wrong
            return literal.text == "true"
        if kind is Kind.DATETIME:
            if literal.kind not in ("date", "string"):
                raise wrong
            text = literal.text if literal.kind == "date" else _unquote(literal.text)
            return _instant(text, literal.pos, self.name)
        if literal.kind != "string":
            raise wrong
        value = _unquote(literal.text)
        if kind is Kind.ENUM and value not in self.attr.choices:
            allowed = ", ".join(self.attr.choices)
            raise _error(literal.pos, f"'{self.name}' is one of {allowed}")
        return value


_DESCRIBED = {
    Kind.INTEGER: "an integer",
    Kind.BOOLEAN: "true or false",
    Kind.DATETIME: "a date",
}
_DESCRIBED.update(
    dict.fromkeys(
        (Kind.TEXT, Kind.URI, Kind.ENUM, Kind.REF, Kind.EXPANDABLE, Kind.PROPERTIES),
        "a quoted string",
    )
)


def _unquote(text: str) -> str:
    return _ESCAPE.sub(r"\1", text[1:-1])


def _instant(text: str, pos: int, name: str) -> datetime:
    """Return a date literal as an instant: a bare date is 00:00:00 UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise _error(pos, f"'{name}': '{text[:40]}' is not a date") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _error(pos: int, message: str) -> BadRequest:
    return BadRequest(f"$filter: at position {pos}: {message}")


# -- what a filter implies, for a cloud that can narrow its listing ---------------


def required_values(predicate: Predicate) -> dict[str, frozenset]:
    """Return, per attribute, the values every member the filter keeps has one of.

    Only what the filter makes certain: conjuncts ``attr='v'`` and
    ``attr='a' or attr='b'`` (plain attributes, not properties). A provider
    may ask its cloud for just those; the whole filter is still applied to
    what comes back, so anything this leaves out only costs time.
    """
    terms = predicate.terms if isinstance(predicate, AllOf) else (predicate,)
    found: dict[str, frozenset] = {}
    for term in terms:
        name_values = _one_of(term)
        if name_values is None:
            continue
        name, values = name_values
        found[name] = found[name] & values if name in found else values
    return found


def _one_of(term: Predicate) -> tuple[str, frozenset] | None:
    options = term.terms if isinstance(term, AnyOf) else (term,)
    names, values = set(), set()
    for option in options:
        if not (
            isinstance(option, Comparison)
            and option.op == "="
            and option.key is None
            and option.value is not None
        ):
            return None
        names.add(option.attr.name)
        values.add(option.value)
    return (names.pop(), frozenset(values)) if len(names) == 1 else None
