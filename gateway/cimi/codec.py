"""Put CIMI documents on the wire and read them back, in XML and in JSON.

One walk over a type's attribute table (``schema.py``) does each direction;
each attribute kind keeps its four small functions side by side in a ``_Codec``
row. Reading collects every problem and raises one ``InvalidBody``.

XML input is parsed with entity resolution, DTDs and network access off, and a
document carrying a DOCTYPE is refused outright, so an entity bomb or an
external entity costs nothing.
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

from gateway.cimi.errors import BadRequest
from gateway.cimi.errors import InvalidBody
from gateway.cimi.schema import NS
from gateway.cimi.schema import Attr
from gateway.cimi.schema import Document
from gateway.cimi.schema import Kind
from gateway.cimi.schema import ResourceType

XML_MEDIA_TYPE = "application/xml"
JSON_MEDIA_TYPE = "application/json"

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)


@functools.cache
def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


# Characters XML 1.0 cannot carry; a cloud's description may hold them.
_NOT_XML = re.compile(
    "[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


def _xml_text(value: str) -> str:
    if value.isascii() and value.isprintable():
        return value
    return _NOT_XML.sub("\ufffd", value)


# -- scalar formats ---------------------------------------------------------


def _format_datetime(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def _parse_text(text: str) -> str:
    return text


def _parse_integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"'{text}' is not an integer") from None


def _parse_datetime(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{text}' is not an ISO 8601 date and time") from None
    if value.tzinfo is None:
        raise ValueError(f"'{text}' has no UTC offset")
    return value


def _parse_uri(text: str) -> str:
    if not text or any(c.isspace() for c in text):
        raise ValueError(f"'{text}' is not a URI")
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
        etree.SubElement(parent, _q(attr.name)).text = _xml_text(fmt(value))

    def to_json(attr: Attr, value: Any) -> Any:
        return value if json_native else fmt(value)

    def check(attr: Attr, value: Any) -> Any:
        if _NOT_XML.search(value):
            raise ValueError("holds characters XML cannot carry")
        value = parse(value.strip())
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
                raise ValueError(f"{json.dumps(value)} is not an integer")
            return value
        if not isinstance(value, str):
            raise ValueError(f"{json.dumps(value)} is not a string")
        return check(attr, value)

    return _Codec(to_xml, to_json, from_xml, from_json)


def _ref_to_xml(parent: etree._Element, attr: Attr, value: str) -> None:
    etree.SubElement(parent, _q(attr.name), href=_xml_text(value))


def _ref_from_xml(attr: Attr, elements: list[etree._Element]) -> str:
    if len(elements) > 1:
        raise ValueError("given more than once")
    return _parse_uri((elements[0].get("href") or "").strip())


def _ref_from_json(attr: Attr, value: Any) -> str:
    if not isinstance(value, dict) or not isinstance(value.get("href"), str):
        raise ValueError('must be an object with an "href" string')
    return _parse_uri(value["href"].strip())


def _properties_to_xml(parent: etree._Element, attr: Attr, value: Mapping) -> None:
    for key, text in value.items():
        # NOTE(gw): DSP8009 names the key `name`, Deltacloud wrote `key`;
        # writing both keeps the schema and Deltacloud's clients happy.
        key = _xml_text(key)
        element = etree.SubElement(parent, _q(attr.name), name=key, key=key)
        element.text = _xml_text(text)


def _properties_from_xml(attr: Attr, elements: list[etree._Element]) -> dict:
    result = {}
    for element in elements:
        key = (element.get("key") or element.get("name") or "").strip()
        if not key:
            raise ValueError('needs a "key" or "name" attribute')
        result[key] = (element.text or "").strip()
    return result


def _properties_from_json(attr: Attr, value: Any) -> dict:
    if not isinstance(value, dict) or not all(
        isinstance(v, str) for v in value.values()
    ):
        raise ValueError("must be an object of strings")
    result = {k.strip(): v.strip() for k, v in value.items()}
    if "" in result:
        raise ValueError("a property needs a non-blank key")
    return result


def _operations_to_xml(parent: etree._Element, attr: Attr, value: list) -> None:
    for rel, href in value:
        etree.SubElement(parent, _q(attr.name), rel=rel, href=_xml_text(href))


def _operations_to_json(attr: Attr, value: list) -> list:
    return [{"rel": rel, "href": href} for rel, href in value]


def _members_to_xml(parent: etree._Element, attr: Attr, value: list) -> None:
    for member in value:
        _write_xml(etree.SubElement(parent, _q(attr.name)), attr.member, member)


def _members_to_json(attr: Attr, value: list) -> list:
    return [_write_json(attr.member, member) for member in value]


def _read_only(attr: Attr, value: Any) -> Any:
    raise ValueError("cannot be given")


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
        _write_xml(etree.SubElement(parent, _q(attr.name)), attr.member, struct)


def _structs_from_xml(attr: Attr, elements: list[etree._Element]) -> list:
    return [_nested(_read(attr.member, _children(e), "from_xml")) for e in elements]


def _structs_from_json(attr: Attr, value: Any) -> list:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValueError("must be an array of objects")
    return [
        _nested(_read(attr.member, _keys(attr.member, v), "from_json")) for v in value
    ]


def _expandable_to_xml(parent: etree._Element, attr: Attr, value: Mapping) -> None:
    element = etree.SubElement(parent, _q(attr.name))
    if value.get("href"):
        element.set("href", _xml_text(value["href"]))
    if attr.member is not None:
        _write_xml(element, attr.member, value)


def _expandable_to_json(attr: Attr, value: Mapping) -> dict:
    inline = _write_json(attr.member, value) if attr.member is not None else {}
    return {"href": value["href"], **inline} if value.get("href") else inline


def _expandable_from_xml(attr: Attr, elements: list[etree._Element]) -> dict:
    if len(elements) > 1:
        raise ValueError("given more than once")
    element = elements[0]
    inline = {}
    if attr.member is not None:
        inline = _nested(_read(attr.member, _children(element), "from_xml"))
    return _expandable(element.get("href"), inline)


def _expandable_from_json(attr: Attr, value: Any) -> dict:
    if not isinstance(value, dict):
        raise ValueError('must be an object with an "href" or attributes')
    href = value.get("href")
    if href is not None and not isinstance(href, str):
        raise ValueError('"href" must be a string')
    inline = {}
    if attr.member is not None:
        inline = _nested(_read(attr.member, _keys(attr.member, value), "from_json"))
    return _expandable(href, inline)


def _expandable(href: str | None, inline: dict) -> dict:
    """Return a reference (``href``), a value, or both; never neither."""
    href = (href or "").strip()
    if not href and not inline:
        raise ValueError("needs an href or a value")
    return {"href": _parse_uri(href), **inline} if href else inline


def _nested(result: tuple[dict, list[str]]) -> dict:
    values, problems = result
    if problems:
        raise ValueError("; ".join(problems))
    return values


_CODECS: dict[Kind, _Codec] = {
    Kind.TEXT: _scalar(str, _parse_text, json_native=True),
    Kind.ENUM: _scalar(str, _parse_text, json_native=True),
    Kind.URI: _scalar(str, _parse_uri, json_native=True),
    Kind.INTEGER: _scalar(str, _parse_integer, json_native=True),
    Kind.DATETIME: _scalar(_format_datetime, _parse_datetime, json_native=False),
    Kind.REF: _Codec(
        _ref_to_xml, lambda a, v: {"href": v}, _ref_from_xml, _ref_from_json
    ),
    Kind.PROPERTIES: _Codec(
        _properties_to_xml,
        lambda a, v: dict(v),
        _properties_from_xml,
        _properties_from_json,
    ),
    Kind.OPERATIONS: _Codec(
        _operations_to_xml, _operations_to_json, _read_only, _read_only
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
        lambda attr, value: [_write_json(attr.member, v) for v in value],
        _structs_from_xml,
        _structs_from_json,
    ),
    Kind.EXPANDABLE: _Codec(
        _expandable_to_xml,
        _expandable_to_json,
        _expandable_from_xml,
        _expandable_from_json,
    ),
}


def _scalar_boolean_to_xml(parent: etree._Element, attr: Attr, value: bool) -> None:
    etree.SubElement(parent, _q(attr.name)).text = "true" if value else "false"


def _single_text(elements: list[etree._Element]) -> str:
    if len(elements) > 1:
        raise ValueError("given more than once")
    return (elements[0].text or "").strip()


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


def _write_xml(element: etree._Element, rtype: ResourceType, values: Mapping) -> None:
    for attr, value in _written(rtype, values):
        _CODECS[attr.kind].to_xml(element, attr, value)


def _write_json(rtype: ResourceType, values: Mapping) -> dict:
    return {
        attr.json_key: _CODECS[attr.kind].to_json(attr, value)
        for attr, value in _written(rtype, values)
    }


def to_xml(doc: Document) -> bytes:
    """Return ``doc`` as a CIMI XML document (root with xmlns and resourceURI)."""
    root = etree.Element(_q(doc.type.root), nsmap={None: NS})
    root.set("resourceURI", doc.type.type_uri)
    _write_xml(root, doc.type, doc.values)
    return etree.tostring(root, pretty_print=True)


def to_json(doc: Document) -> bytes:
    """Return ``doc`` as a CIMI JSON document, ``resourceURI`` first."""
    body = {"resourceURI": doc.type.type_uri, **_write_json(doc.type, doc.values)}
    return json.dumps(body, ensure_ascii=False).encode()


def encode(doc: Document, media_type: str) -> bytes:
    """Return ``doc`` in ``media_type`` (XML or JSON)."""
    return to_json(doc) if media_type == JSON_MEDIA_TYPE else to_xml(doc)


# -- reading ----------------------------------------------------------------


_NO_DTD = "XML documents with a DOCTYPE or entities are not accepted"


def parse_xml(body: bytes) -> etree._Element:
    """Parse an XML body safely; raise ``BadRequest`` when it is not XML."""
    # The byte check refuses the common case before any parsing; the docinfo
    # check after it catches a DOCTYPE hidden by UTF-16 or UTF-32.
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise BadRequest(_NO_DTD)
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as ex:
        raise BadRequest(f"malformed XML: {ex.msg}") from ex
    if root is None:
        raise BadRequest("empty XML document")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise BadRequest(_NO_DTD)
    return root


def parse_json(body: bytes) -> dict:
    """Parse a JSON body; raise ``BadRequest`` unless it is a JSON object."""
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as ex:
        raise BadRequest(f"malformed JSON: {ex}") from ex
    except RecursionError as ex:
        raise BadRequest("malformed JSON: nested too deeply") from ex
    if not isinstance(value, dict):
        raise BadRequest("the JSON body must be an object")
    return value


def _read_xml(
    root: etree._Element, rtype: ResourceType, **options: bool
) -> tuple[dict, list[str]]:
    qname = etree.QName(root)
    if qname.namespace not in (None, NS) or qname.localname not in rtype.input_roots:
        expected = ", ".join(sorted(rtype.input_roots))
        return {}, [f"root element <{qname.localname}> is not one of {expected}"]
    return _read(rtype, _children(root), "from_xml", **options)


def _children(element: etree._Element) -> dict[str, list[etree._Element]]:
    found: dict[str, list[etree._Element]] = {}
    for child in element:
        child_name = etree.QName(child)
        # Elements of other namespaces are extensions; CIMI lets us skip them.
        if child_name.namespace in (None, NS):
            found.setdefault(child_name.localname, []).append(child)
    return found


def _keys(rtype: ResourceType, body: Mapping) -> dict:
    by_key = {attr.json_key: attr.name for attr in rtype.attrs}
    # A JSON null means the attribute is absent.
    return {by_key[k]: v for k, v in body.items() if k in by_key and v is not None}


def _read_json(
    body: Mapping, rtype: ResourceType, **options: bool
) -> tuple[dict, list[str]]:
    return _read(rtype, _keys(rtype, body), "from_json", **options)


def _read(
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
        if attr.read_only and (
            not read_only or attr.kind in (Kind.OPERATIONS, Kind.MEMBERS)
        ):
            # NOTE(gw): a client echoing a full representation (id, state...)
            # is not an error on create; edits ask for read-only values to
            # check them against the resource.
            continue
        try:
            value = getattr(_CODECS[attr.kind], method)(attr, found[attr.name])
        except ValueError as ex:
            problems.append(f"{attr.name}: {ex}")
            continue
        if _present(value):
            values[attr.name] = value
    for attr in rtype.attrs if required else ():
        if (
            attr.required
            and attr.name not in values
            and not any(p.startswith(f"{attr.name}:") for p in problems)
        ):
            problems.append(f"{attr.name}: required")
    return values, problems


def decode(
    parsed: etree._Element | Mapping, rtype: ResourceType, *, read_only: bool = False
) -> dict:
    """Read a parsed body as ``rtype``; return its values by attribute name.

    Args:
        read_only: also return the read-only attributes given (id, state...),
            for an edit to check; otherwise they are ignored.

    Raises:
        InvalidBody: listing every attribute that is missing or malformed.
    """
    options = {"read_only": read_only, "required": not read_only}
    if isinstance(parsed, etree._Element):
        values, problems = _read_xml(parsed, rtype, **options)
    else:
        values, problems = _read_json(parsed, rtype, **options)
    if problems:
        raise InvalidBody(problems)
    return values


# -- error documents --------------------------------------------------------


def encode_error(
    status: int, title: str, message: str, url: str, media_type: str
) -> bytes:
    """Return an error document in Deltacloud's shape, without its backtrace.

    DSP8009 defines no error type; CIMI clients of the era read Deltacloud's
    ``<error status url><code/><message/></error>`` and its JSON twin.
    """
    if media_type == JSON_MEDIA_TYPE:
        body = {"code": status, "error": title, "message": message, "url": url}
        return json.dumps(body, ensure_ascii=False).encode()
    root = etree.Element("error", status=str(status), url=_xml_text(url))
    etree.SubElement(root, "code").text = str(status)
    etree.SubElement(root, "title").text = _xml_text(title)
    etree.SubElement(root, "message").text = _xml_text(message)
    return etree.tostring(root, pretty_print=True)
