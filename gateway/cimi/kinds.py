"""How each kind of CIMI attribute goes to and comes from XML and JSON.

Each kind keeps its four small functions side by side in a ``_Codec`` row of
``CODECS``; ``write_xml``, ``write_json`` and ``read`` walk a type's attribute
table with them. Reading collects every problem instead of stopping at the
first. ``codec.py`` puts whole documents on the wire with these.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree

from gateway.cimi.schema import NS
from gateway.cimi.schema import Attr
from gateway.cimi.schema import Document
from gateway.cimi.schema import Kind
from gateway.cimi.schema import ResourceType


@functools.cache
def tag(name: str) -> str:
    return f"{{{NS}}}{name}"


# Characters XML 1.0 cannot carry; a cloud's description may hold them.
NOT_XML = re.compile(
    "[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


def xml_text(value: str) -> str:
    """Return ``value`` with what XML 1.0 cannot carry replaced by U+FFFD."""
    if value.isascii() and value.isprintable():
        return value
    return NOT_XML.sub("\ufffd", value)


def client_text(value: Any) -> str:
    """Return a string a client sent, trimmed; refuse what XML cannot carry.

    Every kind reads its text through here (values, hrefs, property keys,
    operation rels), so nothing a client sends is stored that a later answer
    could not write: no lone surrogates, no NUL or form feed.

    Raises:
        ValueError: when ``value`` is not a string or holds such characters.
    """
    if not isinstance(value, str):
        raise ValueError(f"{json.dumps(value)} is not a string")
    if NOT_XML.search(value):
        raise ValueError("holds characters XML 1.0 cannot carry")
    return value.strip()


def split_tag(tag: str) -> tuple[str | None, str]:
    """Return the namespace and local name of an lxml tag (``{ns}name``).

    Total, unlike ``etree.QName``: a name with an undeclared prefix
    (``cimi:Machine``) comes back whole, with no namespace.
    """
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return None, tag


# -- scalar formats ---------------------------------------------------------


def _format_datetime(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def _parse_text(text: str) -> str:
    return text


# ASCII digits only: int() also takes "٣" and "²"-like digits; 18 digits
# keep every value inside a 64-bit integer.
_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
_INT_LIMIT = 2**63


def _parse_integer(text: str) -> int:
    if not _INTEGER.fullmatch(text):
        raise ValueError(f"'{text[:40]}' is not an integer")
    return int(text)


def _parse_datetime(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{text}' is not an ISO 8601 date and time") from None
    if value.tzinfo is None:
        raise ValueError(f"'{text}' has no UTC offset")
    return value


def parse_uri(text: str) -> str:
    text = client_text(text)
    if not text or any(c.isspace() for c in text):
        raise ValueError(f"'{text[:200]}' is not a URI")
    return text


# -- per-kind codecs --------------------------------------------------------


@dataclass(frozen=True)
class _Codec:
    """How one attribute kind goes to and comes from XML and JSON."""

    to_xml: Callable[[etree._Element, Attr, Any], None]
    to_json: Callable[[Attr, Any], Any]
    from_xml: Callable[[Attr, list[etree._Element]], Any]
    from_json: Callable[[Attr, Any], Any]


def _scalar(
    fmt: Callable[[Any], str], parse: Callable[[str], Any], json_native: bool
) -> _Codec:
    def to_xml(parent: etree._Element, attr: Attr, value: Any) -> None:
        etree.SubElement(parent, tag(attr.name)).text = xml_text(fmt(value))

    def to_json(attr: Attr, value: Any) -> Any:
        return value if json_native else fmt(value)

    def check(attr: Attr, value: Any) -> Any:
        value = parse(client_text(value))
        if attr.choices and value not in attr.choices:
            allowed = ", ".join(attr.choices)
            raise ValueError(f"'{value}' is not one of {allowed}")
        return value

    def from_xml(attr: Attr, elements: list[etree._Element]) -> Any:
        if len(elements) > 1:
            raise ValueError("given more than once")
        if len(elements[0]):
            raise ValueError("must be text, not elements")
        return check(attr, elements[0].text or "")

    def from_json(attr: Attr, value: Any) -> Any:
        if json_native and parse is _parse_integer:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{json.dumps(value)[:40]} is not an integer")
            if abs(value) >= _INT_LIMIT:
                raise ValueError(f"{value} is out of range")
            return value
        return check(attr, value)

    return _Codec(to_xml, to_json, from_xml, from_json)


def _ref_to_xml(parent: etree._Element, attr: Attr, value: str | Document) -> None:
    if isinstance(value, Document):
        _inline_to_xml(etree.SubElement(parent, tag(attr.name)), value)
    else:
        etree.SubElement(parent, tag(attr.name), href=xml_text(value))


def _ref_to_json(attr: Attr, value: str | Document) -> dict:
    return _inline_to_json(value) if isinstance(value, Document) else {"href": value}


# A reference ``$expand`` inlined is a Document of the resource it names: its
# ``id`` is the reference's href, its other values are written inside.


def _inline_to_xml(element: etree._Element, doc: Document) -> None:
    element.set("href", xml_text(doc.values["id"]))
    write_xml(element, doc.type, {k: v for k, v in doc.values.items() if k != "id"})


def _inline_to_json(doc: Document) -> dict:
    values = {k: v for k, v in doc.values.items() if k != "id"}
    return {"href": doc.values["id"], **write_json(doc.type, values)}


def _ref_from_xml(attr: Attr, elements: list[etree._Element]) -> str:
    if len(elements) > 1:
        raise ValueError("given more than once")
    return parse_uri(elements[0].get("href") or "")


def _ref_from_json(attr: Attr, value: Any) -> str:
    if not isinstance(value, dict) or not isinstance(value.get("href"), str):
        raise ValueError('must be an object with an "href" string')
    return parse_uri(value["href"])


def _properties_to_xml(parent: etree._Element, attr: Attr, value: Mapping) -> None:
    for key, text in value.items():
        # NOTE(gw): DSP8009 names the key `name`, Deltacloud wrote `key`;
        # writing both keeps the schema and Deltacloud's clients happy.
        key = xml_text(key)
        element = etree.SubElement(parent, tag(attr.name), name=key, key=key)
        element.text = xml_text(text)


def _properties(pairs: Iterator[tuple[Any, Any]]) -> dict:
    result = {}
    for key, text in pairs:
        key = client_text(key)
        if not key:
            raise ValueError("a property needs a non-blank key")
        try:
            result[key] = client_text(text)
        except ValueError as ex:
            raise ValueError(f"{key[:40]!r}: {ex}") from None
    return result


def _properties_from_xml(attr: Attr, elements: list[etree._Element]) -> dict:
    return _properties(
        (e.get("key") or e.get("name") or "", e.text or "") for e in elements
    )


def _properties_from_json(attr: Attr, value: Any) -> dict:
    if not isinstance(value, dict) or not all(
        isinstance(v, str) for v in value.values()
    ):
        raise ValueError("must be an object of strings")
    return _properties(iter(value.items()))


def _descriptors_to_xml(parent: etree._Element, attr: Attr, value: list) -> None:
    for descriptor in value:
        element = etree.SubElement(parent, tag(attr.name))
        for field, text in _written(attr.member, descriptor):
            text = _descriptor_text(text)
            if field.xml_text:
                element.text = text
            else:
                element.set(field.name, text)


def _descriptors_from_xml(attr: Attr, elements: list[etree._Element]) -> list:
    """Read repeated elements whose fields are XML attributes (one maybe the text)."""
    found = []
    for element in elements:
        values, problems = {}, []
        for field in attr.member.attrs:
            text = element.text if field.xml_text else element.get(field.name)
            if text is None:
                continue
            try:
                values[field.name] = _DESCRIPTOR_FIELDS[field.kind](client_text(text))
            except ValueError as ex:
                problems.append(f"{field.name}: {ex}")
        if problems:
            raise ValueError("; ".join(problems))
        found.append(values)
    return found


def _descriptors_from_json(attr: Attr, value: Any) -> list:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValueError("must be an array of objects")
    return [
        _nested(read(attr.member, keys(attr.member, v), "from_json")) for v in value
    ]


def _descriptor_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return xml_text(str(value))


def _operations_to_xml(parent: etree._Element, attr: Attr, value: list) -> None:
    for rel, href in value:
        etree.SubElement(parent, tag(attr.name), rel=xml_text(rel), href=xml_text(href))


def _operations_to_json(attr: Attr, value: list) -> list:
    return [{"rel": rel, "href": href} for rel, href in value]


def _members_to_xml(parent: etree._Element, attr: Attr, value: list) -> None:
    for member in value:
        write_xml(etree.SubElement(parent, tag(attr.name)), attr.member, member)


def _members_to_json(attr: Attr, value: list) -> list:
    return [write_json(attr.member, member) for member in value]


def _read_only(attr: Attr, value: Any) -> Any:
    raise ValueError("cannot be given")


def _operations_from_xml(attr: Attr, elements: list[etree._Element]) -> list:
    return [
        (client_text(e.get("rel") or ""), client_text(e.get("href") or ""))
        for e in elements
    ]


def _operations_from_json(attr: Attr, value: Any) -> list:
    if not isinstance(value, list) or not all(
        isinstance(op, dict)
        and isinstance(op.get("rel"), str)
        and isinstance(op.get("href", ""), str)
        for op in value
    ):
        raise ValueError('must be an array of {"rel", "href"} objects')
    return [(client_text(op["rel"]), client_text(op.get("href", ""))) for op in value]


def _parse_boolean(text: str) -> bool:
    if text.lower() in ("true", "1"):
        return True
    if text.lower() in ("false", "0"):
        return False
    raise ValueError(f"'{text}' is not true or false")


def _boolean_from_json(attr: Attr, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{json.dumps(value)} is not true or false")
    return value


def _structs_to_xml(parent: etree._Element, attr: Attr, value: list) -> None:
    for struct in value:
        write_xml(etree.SubElement(parent, tag(attr.name)), attr.member, struct)


def _structs_from_xml(attr: Attr, elements: list[etree._Element]) -> list:
    return [_nested(read(attr.member, children(e), "from_xml")) for e in elements]


def _structs_from_json(attr: Attr, value: Any) -> list:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValueError("must be an array of objects")
    return [
        _nested(read(attr.member, keys(attr.member, v), "from_json")) for v in value
    ]


def _expandable_to_xml(
    parent: etree._Element, attr: Attr, value: Mapping | Document
) -> None:
    element = etree.SubElement(parent, tag(attr.name))
    if isinstance(value, Document):
        _inline_to_xml(element, value)
        return
    if value.get("href"):
        element.set("href", xml_text(value["href"]))
    if attr.member is not None:
        write_xml(element, attr.member, value)


def _expandable_to_json(attr: Attr, value: Mapping | Document) -> dict:
    if isinstance(value, Document):
        return _inline_to_json(value)
    inline = write_json(attr.member, value) if attr.member is not None else {}
    return {"href": value["href"], **inline} if value.get("href") else inline


def _expandable_from_xml(attr: Attr, elements: list[etree._Element]) -> dict:
    if len(elements) > 1:
        raise ValueError("given more than once")
    element = elements[0]
    inline = {}
    if attr.member is not None:
        inline = _nested(read(attr.member, children(element), "from_xml"))
    return _expandable(element.get("href"), inline)


def _expandable_from_json(attr: Attr, value: Any) -> dict:
    if not isinstance(value, dict):
        raise ValueError('must be an object with an "href" or attributes')
    href = value.get("href")
    if href is not None and not isinstance(href, str):
        raise ValueError('"href" must be a string')
    inline = {}
    if attr.member is not None:
        inline = _nested(read(attr.member, keys(attr.member, value), "from_json"))
    return _expandable(href, inline)


def _expandable(href: str | None, inline: dict) -> dict:
    """Return a reference (``href``), a value, or both; never neither."""
    href = client_text(href or "")
    if not href and not inline:
        raise ValueError("needs an href or a value")
    return {"href": parse_uri(href), **inline} if href else inline


def _nested(result: tuple[dict, list[str]]) -> dict:
    values, problems = result
    if problems:
        raise ValueError("; ".join(problems))
    return values


CODECS: dict[Kind, _Codec] = {
    Kind.TEXT: _scalar(str, _parse_text, json_native=True),
    Kind.ENUM: _scalar(str, _parse_text, json_native=True),
    Kind.URI: _scalar(str, parse_uri, json_native=True),
    Kind.INTEGER: _scalar(str, _parse_integer, json_native=True),
    Kind.DATETIME: _scalar(_format_datetime, _parse_datetime, json_native=False),
    Kind.REF: _Codec(_ref_to_xml, _ref_to_json, _ref_from_xml, _ref_from_json),
    Kind.PROPERTIES: _Codec(
        _properties_to_xml,
        lambda a, v: dict(v),
        _properties_from_xml,
        _properties_from_json,
    ),
    Kind.OPERATIONS: _Codec(
        _operations_to_xml,
        _operations_to_json,
        _operations_from_xml,
        _operations_from_json,
    ),
    Kind.MEMBERS: _Codec(_members_to_xml, _members_to_json, _read_only, _read_only),
    Kind.BOOLEAN: _Codec(
        lambda parent, attr, value: _scalar_boolean_to_xml(parent, attr, value),
        lambda attr, value: value,
        lambda attr, elements: _parse_boolean(_single_text(elements)),
        _boolean_from_json,
    ),
    Kind.STRUCTS: _Codec(
        _structs_to_xml,
        lambda attr, value: [write_json(attr.member, v) for v in value],
        _structs_from_xml,
        _structs_from_json,
    ),
    Kind.DESCRIPTORS: _Codec(
        _descriptors_to_xml,
        lambda attr, value: [write_json(attr.member, v) for v in value],
        _descriptors_from_xml,
        _descriptors_from_json,
    ),
    Kind.EXPANDABLE: _Codec(
        _expandable_to_xml,
        _expandable_to_json,
        _expandable_from_xml,
        _expandable_from_json,
    ),
}


#: how a descriptor's field (an XML attribute) is read, by its kind.
_DESCRIPTOR_FIELDS = {
    Kind.TEXT: _parse_text,
    Kind.URI: parse_uri,
    Kind.INTEGER: _parse_integer,
    Kind.BOOLEAN: _parse_boolean,
}


def _scalar_boolean_to_xml(parent: etree._Element, attr: Attr, value: bool) -> None:
    etree.SubElement(parent, tag(attr.name)).text = "true" if value else "false"


def _single_text(elements: list[etree._Element]) -> str:
    if len(elements) > 1:
        raise ValueError("given more than once")
    return client_text(elements[0].text or "")


# -- writing ----------------------------------------------------------------


def _present(value: Any) -> bool:
    # Empty strings, maps and arrays are omitted, not serialized empty.
    return value is not None and (bool(value) or value == 0)


def _written(rtype: ResourceType, values: Mapping) -> Iterator[tuple[Attr, Any]]:
    """Yield the attributes of ``values`` that go on the wire, in table order."""
    for attr in rtype.attrs:
        value = values.get(attr.name)
        if value is None:
            continue
        # A collection keeps its (maybe empty) member list.
        if value or value == 0 or attr.kind is Kind.MEMBERS:
            yield attr, value


def write_xml(element: etree._Element, rtype: ResourceType, values: Mapping) -> None:
    for attr, value in _written(rtype, values):
        CODECS[attr.kind].to_xml(element, attr, value)


def write_json(rtype: ResourceType, values: Mapping) -> dict:
    written = {}
    # PERF(gw): _written and the codec lookup, inlined from a per-type plan;
    # scalars that JSON carries as they are skip their codec.
    for name, key, convert, keep_empty, attr in _json_plan(rtype):
        value = values.get(name)
        if value is None or not (value or value == 0 or keep_empty):
            continue
        written[key] = value if convert is None else convert(attr, value)
    return written


_AS_IS = frozenset({Kind.TEXT, Kind.ENUM, Kind.URI, Kind.INTEGER, Kind.BOOLEAN})


@functools.cache
def _json_plan(rtype: ResourceType) -> tuple[tuple, ...]:
    return tuple(
        (
            attr.name,
            attr.json_key,
            None if attr.kind in _AS_IS else CODECS[attr.kind].to_json,
            attr.kind is Kind.MEMBERS,
            attr,
        )
        for attr in rtype.attrs
    )


def children(element: etree._Element) -> dict[str, list[etree._Element]]:
    found: dict[str, list[etree._Element]] = {}
    for child in element.iterchildren(tag=etree.Element):
        namespace, local = split_tag(child.tag)
        # Elements of other namespaces are extensions; CIMI lets us skip them.
        if namespace in (None, NS):
            found.setdefault(local, []).append(child)
    return found


def keys(rtype: ResourceType, body: Mapping) -> dict:
    by_key = {attr.json_key: attr.name for attr in rtype.attrs}
    # A JSON null means the attribute is absent.
    return {by_key[k]: v for k, v in body.items() if k in by_key and v is not None}


def read(
    rtype: ResourceType,
    found: Mapping,
    method: str,
    *,
    read_only: bool = False,
    required: bool = False,
) -> tuple[dict, list[str]]:
    values, problems = {}, []
    for attr in rtype.attrs:
        if attr.name not in found:
            continue
        if attr.read_only and (not read_only or attr.kind is Kind.MEMBERS):
            # NOTE(gw): a client echoing a full representation (id, state...)
            # is not an error on create; edits ask for read-only values to
            # check them against the resource.
            continue
        try:
            value = getattr(CODECS[attr.kind], method)(attr, found[attr.name])
        except ValueError as ex:
            problems.append(f"{attr.name}: {ex}")
            continue
        # A read-only attribute given empty is still given: an edit checks it.
        if _present(value) or attr.read_only:
            values[attr.name] = value
    for attr in rtype.attrs if required else ():
        if (
            attr.required
            and attr.name not in values
            and not any(p.startswith(f"{attr.name}:") for p in problems)
        ):
            problems.append(f"{attr.name}: required")
    return values, problems
