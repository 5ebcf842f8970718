"""CIMI XML written as text: the same bytes lxml's tree serialization gives, faster.

PERF(gw): building an lxml tree cost most of a mock read's time (a machine
list: one element per attribute). This walks the same attribute tables and
writes what ``etree.tostring(tree, pretty_print=True)`` writes for the tree
``kinds.write_xml`` builds: two-space indents, ``<x/>`` for an empty element,
ASCII with decimal character references, libxml2's escapes. That tree writer
stays the reference: ``tests/cimi/test_xml_text.py`` compares the two over
random values, escapes and all, and parses every output back.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

from gateway.cimi.kinds import _format_datetime
from gateway.cimi.kinds import _written
from gateway.cimi.kinds import xml_text
from gateway.cimi.schema import NS
from gateway.cimi.schema import Attr
from gateway.cimi.schema import Document
from gateway.cimi.schema import Kind
from gateway.cimi.schema import ResourceType

_TEXT_SPECIAL = re.compile(r"[&<>\r]")
_ATTR_SPECIAL = re.compile(r'[&<>"\n\r\t]')
_TEXT_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}
_ATTR_ESCAPES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "\n": "&#10;",
    "\r": "&#13;",
    "\t": "&#9;",
}
# PERF(gw): most values are printable ASCII with nothing to escape; one
# C-level match tells, and such a value is written as it is.
_PLAIN_TEXT = re.compile(r"[\t\n\x20-\x25\x27-\x3b\x3d\x3f-\x7e]*").fullmatch
_PLAIN_ATTRIBUTE = re.compile(r"[\x20-\x21\x23-\x25\x27-\x3b\x3d\x3f-\x7e]*").fullmatch


def _ascii(text: str) -> str:
    if text.isascii():
        return text
    return text.encode("ascii", "xmlcharrefreplace").decode("ascii")


def _escaper(
    plain: Callable[[str], object], special: re.Pattern, escapes: dict[str, str]
) -> Callable[[str], str]:
    """Return a writer of text as XML-safe, escaped ASCII, by ``escapes``."""

    def escaped(value: str) -> str:
        if plain(value):
            return value
        value = xml_text(value)
        if special.search(value):
            value = special.sub(lambda m: escapes[m.group()], value)
        return _ascii(value)

    return escaped


#: ``value`` as element text.
text = _escaper(_PLAIN_TEXT, _TEXT_SPECIAL, _TEXT_ESCAPES)
#: ``value`` as an attribute value (between double quotes).
attribute = _escaper(_PLAIN_ATTRIBUTE, _ATTR_SPECIAL, _ATTR_ESCAPES)


def to_xml(doc: Document) -> bytes:
    """Return ``doc`` as ``codec.to_xml`` does (root with xmlns, resourceURI)."""
    out: list[str] = []
    head = f'xmlns="{NS}" resourceURI="{attribute(doc.type.type_uri)}"'
    _element(out, "", doc.type.root, head, None, doc.type, doc.values)
    return "".join(out).encode("ascii")


def _element(
    out: list[str],
    indent: str,
    name: str,
    attributes: str,
    content: str | None,
    rtype: ResourceType | None = None,
    values: Mapping[str, Any] | None = None,
) -> None:
    """Write one element: its text (``content``), or ``rtype``'s children."""
    start = f"{indent}<{name} {attributes}" if attributes else f"{indent}<{name}"
    if content is not None:
        out.append(f"{start}>{content}</{name}>\n")
        return
    mark = len(out)
    if rtype is not None:
        _children(out, indent + "  ", rtype, values or {})
    if len(out) == mark:
        out.append(f"{start}/>\n")
    else:
        out.insert(mark, f"{start}>\n")
        out.append(f"{indent}</{name}>\n")


def _inline(out: list[str], indent: str, name: str, doc: Document) -> None:
    rest = {k: v for k, v in doc.values.items() if k != "id"}
    href = f'href="{attribute(doc.values["id"])}"'
    _element(out, indent, name, href, None, doc.type, rest)


def _children(
    out: list[str], indent: str, rtype: ResourceType, values: Mapping[str, Any]
) -> None:
    # PERF(gw): _written inlined from a per-type plan; a scalar is written in
    # the loop, every other kind by its writer.
    for name, start, end, write, keep_empty, attr in _plan(rtype):
        value = values.get(name)
        if value is None or not (value or value == 0 or keep_empty):
            continue
        if write is None:
            out.append(f"{indent}{start}{text(str(value))}{end}")
        else:
            write(out, indent, attr, value)


def _datetime(out: list[str], indent: str, attr: Attr, value: Any) -> None:
    name = attr.name
    out.append(f"{indent}<{name}>{text(_format_datetime(value))}</{name}>\n")


def _boolean(out: list[str], indent: str, attr: Attr, value: Any) -> None:
    name = attr.name
    out.append(f"{indent}<{name}>{'true' if value else 'false'}</{name}>\n")


def _ref(out: list[str], indent: str, attr: Attr, value: Any) -> None:
    if isinstance(value, Document):
        _inline(out, indent, attr.name, value)
    else:
        out.append(f'{indent}<{attr.name} href="{attribute(value)}"/>\n')


def _properties(out: list[str], indent: str, attr: Attr, value: Any) -> None:
    name = attr.name
    for key, prop in value.items():
        key = attribute(key)
        out.append(f'{indent}<{name} name="{key}" key="{key}">{text(prop)}</{name}>\n')


def _operations(out: list[str], indent: str, attr: Attr, value: Any) -> None:
    name = attr.name
    for rel, href in value:
        rel, href = attribute(rel), attribute(href)
        out.append(f'{indent}<{name} rel="{rel}" href="{href}"/>\n')


def _members(out: list[str], indent: str, attr: Attr, value: Any) -> None:
    for member in value:
        _element(out, indent, attr.name, "", None, attr.member, member)


def _expandable(out: list[str], indent: str, attr: Attr, value: Any) -> None:
    if isinstance(value, Document):
        _inline(out, indent, attr.name, value)
        return
    href = value.get("href")
    head = f'href="{attribute(href)}"' if href else ""
    _element(out, indent, attr.name, head, None, attr.member, value)


def _descriptors(out: list[str], indent: str, attr: Attr, value: Any) -> None:
    for descriptor in value:
        _descriptor(out, indent, attr.name, attr.member, descriptor)


Writer = Callable[[list[str], str, Attr, Any], None]
#: how each kind is written; a kind not here is a scalar, written as text.
_WRITERS: dict[Kind, Writer] = {
    Kind.DATETIME: _datetime,
    Kind.BOOLEAN: _boolean,
    Kind.REF: _ref,
    Kind.PROPERTIES: _properties,
    Kind.OPERATIONS: _operations,
    Kind.MEMBERS: _members,
    Kind.STRUCTS: _members,
    Kind.EXPANDABLE: _expandable,
    Kind.DESCRIPTORS: _descriptors,
}
_SCALARS = frozenset({Kind.TEXT, Kind.ENUM, Kind.URI, Kind.INTEGER})


@functools.cache
def _plan(rtype: ResourceType) -> tuple[tuple, ...]:
    """Per attribute, in table order: what ``_children`` needs to write it."""
    plan = []
    for attr in rtype.attrs:
        if attr.kind not in _SCALARS and attr.kind not in _WRITERS:
            raise TypeError(f"{rtype.name}.{attr.name}: no XML writer for {attr.kind}")
        plan.append(
            (
                attr.name,
                f"<{attr.name}>",
                f"</{attr.name}>\n",
                _WRITERS.get(attr.kind),
                # A collection keeps its (maybe empty) member list.
                attr.kind is Kind.MEMBERS,
                attr,
            )
        )
    return tuple(plan)


def _descriptor(
    out: list[str], indent: str, name: str, rtype: ResourceType, values: Mapping
) -> None:
    fields, content = [], None
    for field, value in _written(rtype, values):
        written = "true" if value is True else "false" if value is False else str(value)
        if field.xml_text:
            content = text(written)
        else:
            fields.append(f'{field.name}="{attribute(written)}"')
    _element(out, indent, name, " ".join(fields), content)
