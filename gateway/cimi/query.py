"""CIMI collection queries (DSP0263 4.1.6): what a client asks of a listing.

``Query.parse`` reads ``$filter``, ``$orderby``, ``$first``/``$last``,
``$select`` and ``$expand`` once, checked against the member type's attribute
table; ``Query.window`` then applies them in DSP0263's order: filter, order,
page. Selecting and expanding happen to what is shown (see ``select``).
Pure: values in, values out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gateway.cimi import filter as cimi_filter
from gateway.cimi.errors import BadRequest
from gateway.cimi.schema import Kind
from gateway.cimi.schema import ResourceType

# ASCII digits only (str.isdigit takes "²" too), few enough to be an index.
_POSITION = re.compile(r"[0-9]{1,18}")
_ORDER_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?::(.*))?", re.ASCII | re.DOTALL)
#: the attribute kinds a listing can be ordered by.
ORDERABLE = frozenset(
    {Kind.TEXT, Kind.URI, Kind.ENUM, Kind.INTEGER, Kind.DATETIME, Kind.BOOLEAN}
)
#: the attribute kinds ``$expand`` can inline.
EXPANDABLE = frozenset({Kind.REF, Kind.EXPANDABLE})
#: the query parameters every collection takes (``$format`` is negotiation's).
PARAMETERS = ("$filter", "$orderby", "$first", "$last", "$select", "$expand")


@dataclass(frozen=True)
class OrderKey:
    name: str  # the attribute's table name
    descending: bool = False


@dataclass(frozen=True)
class Query:
    """A client's query of a collection of ``rtype`` members, checked."""

    rtype: ResourceType
    where: cimi_filter.Predicate | None = None
    order: tuple[OrderKey, ...] = ()
    first: int | None = None
    last: int | None = None
    #: attribute names to show (``id`` always is); None: all of them.
    selected: frozenset[str] | None = None
    #: reference attributes to inline.
    expanded: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, params: Mapping[str, Sequence[str]], rtype: ResourceType) -> Query:
        """Read the query parameters (each name to its values, repeats kept).

        Raises:
            BadRequest: naming the parameter and token that do not fit.
        """
        first = _position("$first", _one(params, "$first"))
        last = _position("$last", _one(params, "$last"))
        if first is not None and last is not None and last < first:
            raise BadRequest("$last must not be before $first")
        filters = list(params.get("$filter", ()))
        return cls(
            rtype,
            where=cimi_filter.parse(filters, rtype) if filters else None,
            order=tuple(_order_keys(params.get("$orderby", ()), rtype)),
            first=first,
            last=last,
            selected=_selected(params.get("$select", ()), rtype),
            expanded=_expanded(params.get("$expand", ()), rtype),
        )

    @property
    def reorders(self) -> bool:
        """Tell whether the query filters or orders (not only pages)."""
        return self.where is not None or bool(self.order)

    @property
    def page(self) -> slice:
        """The slice ``$first``..``$last`` (1-based, inclusive) selects."""
        return slice(None if self.first is None else self.first - 1, self.last)

    def window(self, members: Sequence[Mapping[str, Any]]) -> tuple[list, int]:
        """Return the members shown and how many matched the filter.

        ``count`` is the number that matched, before paging, so a client sees
        what the page cut.
        """
        matched = [m for m in members if self.where(m)] if self.where else members
        for key in reversed(self.order):
            matched = _sorted(matched, key)
        return list(matched[self.page]), len(matched)

    def select(self, values: Mapping[str, Any]) -> dict:
        """Return ``values`` cut to what ``$select`` names, ``id`` kept."""
        if self.selected is None:
            return dict(values)
        return {k: v for k, v in values.items() if k in self.selected or k == "id"}


def _one(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = params.get(name) or ()
    if len(values) > 1:
        raise BadRequest(f"{name} is given {len(values)} times; give it once")
    return values[0] if values else None


def _position(name: str, text: str | None) -> int | None:
    if text is None:
        return None
    text = text.strip()
    if not _POSITION.fullmatch(text) or int(text) < 1:
        raise BadRequest(f"{name} must be a positive integer, not '{text[:40]}'")
    return int(text)


def _names(values: Sequence[str], parameter: str) -> list[str]:
    """Return the comma-separated names of every value, blanks trimmed."""
    names = [n.strip() for value in values for n in value.split(",")]
    if any(not n for n in names):
        raise BadRequest(f"{parameter}: an empty name in '{','.join(values)[:80]}'")
    return names


def _order_keys(values: Sequence[str], rtype: ResourceType) -> list[OrderKey]:
    keys = []
    for text in _names(values, "$orderby"):
        match = _ORDER_KEY.fullmatch(text)
        if match is None:
            raise BadRequest(f"$orderby: '{text[:40]}' is not attribute[:asc|:desc]")
        name, direction = match.groups()
        if direction not in (None, "asc", "desc"):
            raise BadRequest(
                f"$orderby: '{direction[:40]}' is not a direction; use asc or desc"
            )
        attr = cimi_filter.attribute(rtype, name)
        if attr is None:
            raise BadRequest(f"$orderby: {rtype.name} has no attribute '{name}'")
        if attr.kind not in ORDERABLE:
            raise BadRequest(f"$orderby: '{name}' cannot be ordered by")
        keys.append(OrderKey(attr.name, direction == "desc"))
    return keys


def _selected(values: Sequence[str], rtype: ResourceType) -> frozenset[str] | None:
    if not values:
        return None
    names = _names(values, "$select")
    if "*" in names:
        return None
    return frozenset(_attribute_name("$select", n, rtype) for n in names)


def _expanded(values: Sequence[str], rtype: ResourceType) -> frozenset[str]:
    references = frozenset(a.name for a in rtype.attrs if a.kind in EXPANDABLE)
    if not values:
        return frozenset()
    names = _names(values, "$expand")
    if "*" in names:
        return references
    found = frozenset(_attribute_name("$expand", n, rtype) for n in names)
    if found - references:
        name = min(found - references)
        raise BadRequest(f"$expand: '{name}' is not a reference")
    return found


def _attribute_name(parameter: str, name: str, rtype: ResourceType) -> str:
    attr = cimi_filter.attribute(rtype, name)
    if attr is None:
        raise BadRequest(f"{parameter}: {rtype.name} has no attribute '{name[:40]}'")
    return attr.name


def _sorted(members: Sequence[Mapping[str, Any]], key: OrderKey) -> list:
    """Sort stably by one key; members without a value come last either way."""
    present, absent = [], []
    for member in members:
        value = member.get(key.name)
        (absent if value is None or value == "" else present).append(member)
    present.sort(key=lambda m: m[key.name], reverse=key.descending)
    return present + absent
