"""Text a client sends: refused at decode when XML cannot carry it, and total.

Every attribute kind reads its strings through one check, so nothing is
stored that a later answer could not write (issue 6, items 4, 7, 8), and the
documents we write, errors included, can always be written (item 5).
"""

from __future__ import annotations

import json

import pytest
from lxml import etree

from gateway.cimi import codec
from gateway.cimi.errors import BadRequest
from gateway.cimi.errors import InvalidBody
from gateway.cimi.kinds import split_tag
from gateway.cimi.query import Query
from gateway.cimi.schema import ACTION
from gateway.cimi.schema import MACHINE
from gateway.cimi.schema import MACHINE_CREATE
from gateway.cimi.schema import MACHINE_IMAGE
from gateway.cimi.schema import MACHINE_TEMPLATE
from gateway.cimi.schema import NS
from gateway.cimi.schema import Document

BASE = "http://127.0.0.1:8000/cimi"
CONFIG = {"href": f"{BASE}/machine_configurations/m1-small"}
IMAGE = {"href": f"{BASE}/machine_images/img1"}
#: what XML 1.0 cannot carry: a lone surrogate, NUL, form feed, U+FFFF.
UNCARRIABLE = ["\ud800", "\udfff", "\x00", "\x0c", "\x1b", "\uffff"]


def decode_json(text: str, rtype):
    """Parse ``text`` (JSON with \\u escapes), then decode it as ``rtype``."""
    return codec.decode(codec.parse_json(text.encode()), rtype)


def escaped(body: dict) -> str:
    # ensure_ascii: a lone surrogate travels as \ud800, as a client sends it.
    return json.dumps(body, ensure_ascii=True)


def template(**changes) -> dict:
    return {"machineConfig": CONFIG, "machineImage": IMAGE, **changes}


def bodies_with(bad: str) -> list[tuple[object, dict]]:
    """Return (type, body) pairs putting ``bad`` into every kind of attribute."""
    return [
        (MACHINE_IMAGE, {"imageLocation": f"{BASE}/machines/inst1{bad}"}),  # URI
        (MACHINE_IMAGE, {"imageLocation": "inst1", "name": f"n{bad}"}),  # TEXT
        (MACHINE_IMAGE, {"imageLocation": "inst1", "type": f"IMAGE{bad}"}),  # ENUM
        (MACHINE, {"properties": {f"k{bad}": "v"}}),  # PROPERTIES key
        (MACHINE, {"properties": {"k": f"x{bad}y"}}),  # PROPERTIES value
        (MACHINE, {"operations": [{"rel": f"edit{bad}", "href": BASE}]}),
        (MACHINE, {"operations": [{"rel": "edit", "href": f"{BASE}{bad}"}]}),
        (MACHINE_TEMPLATE, template(machineImage={"href": f"img{bad}"})),  # ref
        (MACHINE_TEMPLATE, template(userData=f"aGk{bad}")),
        (MACHINE_TEMPLATE, template(credential={"href": f"{BASE}/c/k{bad}"})),
        (MACHINE_CREATE, {"machineTemplate": {"href": f"{BASE}/t/x{bad}"}}),
        (MACHINE_CREATE, {"machineTemplate": template(name=f"t{bad}")}),
        (ACTION, {"action": f"http://schemas.dmtf.org/cimi/1/action/stop{bad}"}),
    ]


@pytest.mark.parametrize("bad", UNCARRIABLE, ids=ascii)
@pytest.mark.parametrize("case", range(13))
def test_uncarriable_text_is_refused_in_every_kind(case, bad):
    rtype, body = bodies_with(bad)[case]
    read_only = rtype is MACHINE  # an edit body: read-only values are read

    with pytest.raises(InvalidBody) as excinfo:
        codec.decode(
            codec.parse_json(escaped(body).encode()), rtype, read_only=read_only
        )

    assert "XML 1.0 cannot carry" in excinfo.value.message


def test_carriable_unicode_is_kept():
    text = "caf\u00e9 \u2603 \U0001f600 tab\there"

    values = decode_json(escaped({"properties": {text: text}}), MACHINE)

    assert values["property"] == {text: text}


@pytest.mark.parametrize("digits", ["\u00b2", "\u2466", "\u0663", "1\u0663"])
def test_integers_are_ascii_digits_only(digits):
    body = f"<MachineConfiguration><cpu>{digits}</cpu></MachineConfiguration>"
    from gateway.cimi.schema import MACHINE_CONFIGURATION

    with pytest.raises(InvalidBody, match="not an integer"):
        codec.decode(codec.parse_xml(body.encode()), MACHINE_CONFIGURATION)


@pytest.mark.parametrize("text", ["\u00b2", "\u2466", " \u0663 ", "9" * 5000, "1e3"])
def test_paging_positions_are_ascii_digits(text):
    with pytest.raises(BadRequest, match=r"\$first must be a positive integer"):
        Query.parse({"$first": [text]}, MACHINE)


# -- roots and children: total ------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"<cimi:MachineImage><imageLocation>x</imageLocation></cimi:MachineImage>",
        b"<MachineImage><cimi:imageLocation>x</cimi:imageLocation></MachineImage>",
        b'<MachineImage xmlns:a="urn:a"><b:name>n</b:name></MachineImage>',
        # A libxml2 warning after the namespace error once left it unraised:
        b'<x:Machine xmlns="http://schemas.dmtf.org/cimi/1"><name>n</name>'
        b'<operation rel="edit" href="h" xmlns="rel"/></x:Machine>',
        b'<cimi:MachineImage><name xml:space="bogus">n</name></cimi:MachineImage>',
    ],
    ids=["root", "child", "other-prefix", "then-relative-xmlns", "then-xml-space"],
)
def test_undeclared_prefixes_are_a_bad_request(body):
    # libxml2 refuses these itself; parse_xml also refuses any tag that
    # slips through with a prefix and no namespace.
    with pytest.raises(BadRequest, match="malformed XML"):
        codec.parse_xml(body)


@pytest.mark.parametrize(
    ("tag", "parts"),
    [
        ("{http://schemas.dmtf.org/cimi/1}Machine", (NS, "Machine")),
        ("Machine", (None, "Machine")),
        ("cimi:Machine", (None, "cimi:Machine")),  # etree.QName raises here
    ],
)
def test_split_tag_is_total(tag, parts):
    assert split_tag(tag) == parts


def test_declared_prefixes_still_read():
    body = (
        b'<c:MachineImage xmlns:c="http://schemas.dmtf.org/cimi/1">'
        b"<c:imageLocation>inst1</c:imageLocation></c:MachineImage>"
    )

    assert codec.decode(codec.parse_xml(body), MACHINE_IMAGE) == {
        "imageLocation": "inst1"
    }


# -- writing: always possible -------------------------------------------------


@pytest.mark.parametrize("media_type", [codec.XML_MEDIA_TYPE, codec.JSON_MEDIA_TYPE])
def test_an_error_document_can_carry_any_text(media_type):
    message = "bad href 'img\ud800' \x00 \x0c \uffff"

    body = codec.encode_error(400, "Bad Request", message, "/cimi/x\ud800", media_type)

    if media_type == codec.JSON_MEDIA_TYPE:
        document = json.loads(body.decode("utf-8"))
        assert document["code"] == 400
        assert "\ufffd" in document["message"] and "\ud800" not in document["message"]
    else:
        document = etree.fromstring(body)
        assert document.findtext("code") == "400"
        assert "\ufffd" in document.findtext("message")


def test_an_error_message_is_bounded():
    body = codec.encode_error(
        400, "Bad Request", "x" * 100_000, "/", codec.JSON_MEDIA_TYPE
    )

    assert len(json.loads(body)["message"]) == codec.MAX_MESSAGE


@pytest.mark.parametrize("media_type", [codec.XML_MEDIA_TYPE, codec.JSON_MEDIA_TYPE])
def test_a_document_holding_a_lone_surrogate_is_still_written(media_type):
    # A record stored before decode refused such text must not crash a list.
    doc = Document(MACHINE, {"id": f"{BASE}/machines/x", "property": {"k\ud800": "v"}})

    body = codec.encode(doc, media_type)

    if media_type == codec.JSON_MEDIA_TYPE:
        assert json.loads(body)["properties"] == {"k\ufffd": "v"}
    else:
        assert etree.fromstring(body)[1].get("key") == "k\ufffd"
