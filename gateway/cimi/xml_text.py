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

import re
from collections.abc import Mapping
from typing import Any

from gateway.cimi.kinds import _format_datetime
from gateway.cimi.kinds import _written
from gateway.cimi.kinds import xml_text
from gateway.cimi.schema import NS
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


def _ascii(text: str) -> str:
    if text.isascii():
        return text
    return text.encode("ascii", "xmlcharrefreplace").decode("ascii")


def text(value: str) -> str:
    """Return ``value`` as element text: XML-safe, escaped, ASCII."""
    value = xml_text(value)
    if _TEXT_SPECIAL.search(value):
        value = _TEXT_SPECIAL.sub(lambda m: _TEXT_ESCAPES[m.group()], value)
    return _ascii(value)


def attribute(value: str) -> str:
    """Return ``value`` as an attribute value (between double quotes)."""
    value = xml_text(value)
    if _ATTR_SPECIAL.search(value):
        value = _ATTR_SPECIAL.sub(lambda m: _ATTR_ESCAPES[m.group()], value)
    return _ascii(value)


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
    for attr, value in _written(rtype, values):
        name, kind = attr.name, attr.kind
        if kind in (Kind.TEXT, Kind.ENUM, Kind.URI, Kind.INTEGER):
            out.append(f"{indent}<{name}>{text(str(value))}</{name}>\n")
        elif kind is Kind.DATETIME:
            out.append(f"{indent}<{name}>{text(_format_datetime(value))}</{name}>\n")
        elif kind is Kind.BOOLEAN:
            out.append(f"{indent}<{name}>{'true' if value else 'false'}</{name}>\n")
        elif kind is Kind.REF:
            if isinstance(value, Document):
                _inline(out, indent, name, value)
            else:
                out.append(f'{indent}<{name} href="{attribute(value)}"/>\n')
        elif kind is Kind.PROPERTIES:
            for key, prop in value.items():
                key = attribute(key)
                out.append(
                    f'{indent}<{name} name="{key}" key="{key}">{text(prop)}</{name}>\n'
                )
        elif kind is Kind.OPERATIONS:
            for rel, href in value:
                rel, href = attribute(rel), attribute(href)
                out.append(f'{indent}<{name} rel="{rel}" href="{href}"/>\n')
        elif kind in (Kind.MEMBERS, Kind.STRUCTS):
            for member in value:
                _element(out, indent, name, "", None, attr.member, member)
        elif kind is Kind.EXPANDABLE:
            if isinstance(value, Document):
                _inline(out, indent, name, value)
            else:
                href = value.get("href")
                head = f'href="{attribute(href)}"' if href else ""
                _element(out, indent, name, head, None, attr.member, value)
        elif kind is Kind.DESCRIPTORS:
            for descriptor in value:
                _descriptor(out, indent, name, attr.member, descriptor)


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
