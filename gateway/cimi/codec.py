"""Put CIMI documents on the wire and read them back, in XML and in JSON.

One walk over a type's attribute table (``schema.py``) does each direction,
with each attribute kind's functions from ``kinds.py``. Reading collects every
problem and raises one ``InvalidBody``.

XML input is parsed with entity resolution, DTDs and network access off, and a
document carrying a DOCTYPE is refused outright, so an entity bomb or an
external entity costs nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import orjson
from lxml import etree

from gateway.cimi import kinds
from gateway.cimi import xml_text
from gateway.cimi.errors import BadRequest
from gateway.cimi.errors import InvalidBody
from gateway.cimi.schema import NS
from gateway.cimi.schema import Document
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


def to_xml(doc: Document) -> bytes:
    """Return ``doc`` as a CIMI XML document (root with xmlns and resourceURI).

    Written as text (``xml_text.py``), byte for byte what ``to_xml_tree``
    writes: that is proven by a property test.
    """
    return xml_text.to_xml(doc)


def to_xml_tree(doc: Document) -> bytes:
    """Return ``doc`` built as an lxml tree and serialized: the reference."""
    root = etree.Element(kinds.tag(doc.type.root), nsmap={None: NS})
    root.set("resourceURI", doc.type.type_uri)
    kinds.write_xml(root, doc.type, doc.values)
    return etree.tostring(root, pretty_print=True)


def to_json(doc: Document) -> bytes:
    """Return ``doc`` as a CIMI JSON document, ``resourceURI`` first."""
    body = {"resourceURI": doc.type.type_uri, **kinds.write_json(doc.type, doc.values)}
    return json_bytes(body)


_SURROGATE = re.compile("[\ud800-\udfff]")


def json_bytes(body: Any) -> bytes:
    """Return ``body`` as compact UTF-8 JSON, whatever strings it holds.

    PERF(gw): orjson writes it, several times faster than ``json``. It
    refuses what UTF-8 cannot encode (a lone surrogate) and integers past 64
    bits; those rare bodies go through ``json.dumps``, which writes the same
    compact form, escapes control characters alike, and leaves a lone
    surrogate as it is: it becomes U+FFFD, as in XML.
    """
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError:
        pass
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode()
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text).encode()


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
    # libxml2 reports an undeclared prefix but keeps going, leaving a tag
    # such as "cimi:Machine" that names no namespace: refuse the document.
    for element in root.iter(tag=etree.Element):
        if ":" in kinds.split_tag(element.tag)[1]:
            raise BadRequest(
                f"malformed XML: the prefix of <{element.tag[:80]}> is not declared"
            )
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
    namespace, local = kinds.split_tag(root.tag)
    if namespace not in (None, NS) or local not in rtype.input_roots:
        expected = ", ".join(sorted(rtype.input_roots))
        return {}, [f"root element <{local[:80]}> is not one of {expected}"]
    return kinds.read(rtype, kinds.children(root), "from_xml", **options)


def _read_json(
    body: Mapping, rtype: ResourceType, **options: bool
) -> tuple[dict, list[str]]:
    return kinds.read(rtype, kinds.keys(rtype, body), "from_json", **options)


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


#: the longest message an error document carries; what a client sent may be
#: echoed in it, and a cloud's answer may be long.
MAX_MESSAGE = 2000


def bounded(text: str, limit: int = MAX_MESSAGE) -> str:
    """Return ``text`` cut to ``limit`` characters, marked when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def encode_error(
    status: int,
    title: str,
    message: str,
    url: str,
    media_type: str,
    request_id: str | None = None,
) -> bytes:
    """Return an error document in Deltacloud's shape, without its backtrace.

    DSP8009 defines no error type; CIMI clients of the era read Deltacloud's
    ``<error status url><code/><message/></error>`` and its JSON twin. Any
    text can be written: an error document must never fail. ``request_id``
    (the answer's ``X-Request-Id``) comes last, where such clients skip it,
    so an operator can find the request's log lines from what a user pastes.
    """
    message, url = bounded(message), bounded(url)
    if media_type == JSON_MEDIA_TYPE:
        body = {"code": status, "error": title, "message": message, "url": url}
        if request_id is not None:
            body["requestId"] = kinds.xml_text(bounded(request_id))
        return json_bytes(body)
    root = etree.Element("error", status=str(status), url=kinds.xml_text(url))
    etree.SubElement(root, "code").text = str(status)
    etree.SubElement(root, "title").text = kinds.xml_text(title)
    etree.SubElement(root, "message").text = kinds.xml_text(message)
    if request_id is not None:
        etree.SubElement(root, "requestId").text = kinds.xml_text(bounded(request_id))
    return etree.tostring(root, pretty_print=True)
