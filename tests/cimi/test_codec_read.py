"""Reading: request bodies in XML and JSON to the writable values of a type."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.cimi import codec
from gateway.cimi.errors import BadRequest
from gateway.cimi.errors import InvalidBody
from gateway.cimi.schema import CLOUD_ENTRY_POINT
from gateway.cimi.schema import MACHINE
from gateway.cimi.schema import MACHINE_IMAGE
from gateway.cimi.schema import NS
from gateway.cimi.schema import Document

from .samples import BASE
from .samples import SEED_CREATE_VALUES
from .samples import full_cloud_entry_point
from .samples import full_machine
from .samples import full_machine_image
from .samples import writable

MACHINE_URL = f"{BASE}/machines/inst1"


def read_xml(body: str | bytes) -> dict:
    """Parse and decode an XML MachineImage body."""
    raw = body.encode() if isinstance(body, str) else body
    return codec.decode(codec.parse_xml(raw), MACHINE_IMAGE)


def read_json(body: Any) -> dict:
    """Serialize ``body``, then parse and decode it as a MachineImage."""
    return codec.decode(codec.parse_json(json.dumps(body).encode()), MACHINE_IMAGE)


def image_xml(inner: str, root: str = "MachineImage", xmlns: str | None = NS) -> str:
    """Return an XML MachineImage body around ``inner``."""
    declared = f' xmlns="{xmlns}"' if xmlns else ""
    return f"<{root}{declared}>{inner}</{root}>"


LOCATION = f"<imageLocation>{MACHINE_URL}</imageLocation>"


def problems_of(excinfo: pytest.ExceptionInfo[InvalidBody]) -> dict[str, str]:
    """Return an InvalidBody's problems keyed by the attribute they name."""
    return dict(problem.split(": ", 1) for problem in excinfo.value.problems)


# -- the seed's capture body and its variants -------------------------------


def test_seed_capture_body(seed_xml: dict) -> None:
    # The seed's POST body has no xmlns at all.
    assert b"xmlns" not in seed_xml["create"]
    assert read_xml(seed_xml["create"]) == SEED_CREATE_VALUES


def test_seed_capture_body_namespaced(seed_xml: dict) -> None:
    body = seed_xml["create"].replace(
        b"<MachineImage>", f'<MachineImage xmlns="{NS}">'.encode()
    )
    assert read_xml(body) == SEED_CREATE_VALUES


def test_seed_capture_body_with_a_prefix() -> None:
    body = (
        f'<c:MachineImage xmlns:c="{NS}"><c:name>some_name</c:name>'
        f"<c:imageLocation>{MACHINE_URL}</c:imageLocation></c:MachineImage>"
    )
    assert read_xml(body) == {"name": "some_name", "imageLocation": MACHINE_URL}


@pytest.mark.parametrize(
    "xmlns", [pytest.param(NS, id="ns"), pytest.param(None, id="no-ns")]
)
@pytest.mark.parametrize(
    "root", ["MachineImage", "MachineImageCreate", "machineImageCreate"]
)
def test_accepted_roots(root: str, xmlns: str | None) -> None:
    assert read_xml(image_xml(LOCATION, root, xmlns)) == {"imageLocation": MACHINE_URL}


@pytest.mark.parametrize(
    ("root", "xmlns"),
    [
        pytest.param("Machine", NS, id="machine"),
        pytest.param("machineImage", NS, id="lowercase"),
        pytest.param("Collection", NS, id="collection"),
        pytest.param("MachineImage", "urn:example:other", id="foreign-namespace"),
        pytest.param("Action", None, id="action"),
    ],
)
def test_other_roots_are_invalid(root: str, xmlns: str | None) -> None:
    with pytest.raises(InvalidBody) as excinfo:
        read_xml(image_xml(LOCATION, root, xmlns))
    assert excinfo.value.status == 400
    assert root in excinfo.value.message


def test_json_uses_the_same_names(seed_xml: dict) -> None:
    body = {"resourceURI": f"{NS}/MachineImage", **SEED_CREATE_VALUES}
    assert read_json(body) == read_xml(seed_xml["create"]) == SEED_CREATE_VALUES


# -- trimming -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("inner", "expected"),
    [
        pytest.param("<type> IMAGE </type>", {"type": "IMAGE"}, id="enum"),
        pytest.param(
            "<type>\n  SNAPSHOT\n</type>", {"type": "SNAPSHOT"}, id="enum-newlines"
        ),
        pytest.param("<name>  my image </name>", {"name": "my image"}, id="text"),
        pytest.param(
            "<description>\n\t d \n</description>", {"description": "d"}, id="tabs"
        ),
        pytest.param("<name>   </name>", {}, id="blank-dropped"),
        pytest.param(
            f'<relatedImage href="  {BASE}/machine_images/img1 "/>',
            {"relatedImage": f"{BASE}/machine_images/img1"},
            id="ref-href",
        ),
        pytest.param(
            '<property key=" k "> v </property>',
            {"property": {"k": "v"}},
            id="property",
        ),
    ],
)
def test_xml_values_are_trimmed(inner: str, expected: dict) -> None:
    values = read_xml(
        image_xml(f"{inner}<imageLocation> {MACHINE_URL}\n</imageLocation>")
    )
    assert values == {**expected, "imageLocation": MACHINE_URL}


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        pytest.param({"type": " IMAGE "}, {"type": "IMAGE"}, id="enum"),
        pytest.param({"name": " my image\n"}, {"name": "my image"}, id="text"),
        pytest.param(
            {"properties": {" k ": " v "}}, {"property": {"k": "v"}}, id="property"
        ),
        pytest.param(
            {"relatedImage": {"href": " x/img1 "}}, {"relatedImage": "x/img1"}, id="ref"
        ),
    ],
)
def test_json_values_are_trimmed(extra: dict, expected: dict) -> None:
    values = read_json({"imageLocation": f" {MACHINE_URL} ", **extra})
    assert values == {**expected, "imageLocation": MACHINE_URL}


@pytest.mark.parametrize(
    ("inner", "expected"),
    [
        pytest.param(
            "<name>a &amp; b &lt;c&gt;</name>", "a & b <c>", id="predefined-entities"
        ),
        pytest.param("<name>&#65;&#x42;</name>", "AB", id="char-refs"),
        pytest.param("<name><![CDATA[<x> & y]]></name>", "<x> & y", id="cdata"),
        pytest.param("<name>Fédora ☃</name>", "Fédora ☃", id="non-ascii"),
    ],
)
def test_xml_text_is_unescaped(inner: str, expected: str) -> None:
    assert read_xml(image_xml(inner + LOCATION))["name"] == expected


# -- problems -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inner", "names"),
    [
        pytest.param(f"<type>IMAGES</type>{LOCATION}", {"type"}, id="unknown-type"),
        pytest.param(f"<type>image</type>{LOCATION}", {"type"}, id="lowercase-type"),
        pytest.param(f"<type/>{LOCATION}", {"type"}, id="empty-type"),
        pytest.param("<name>n</name>", {"imageLocation"}, id="missing-location"),
        pytest.param("<imageLocation/>", {"imageLocation"}, id="empty-location"),
        pytest.param(
            "<imageLocation>not a uri</imageLocation>",
            {"imageLocation"},
            id="spaced-location",
        ),
        pytest.param(f"{LOCATION}{LOCATION}", {"imageLocation"}, id="location-twice"),
        pytest.param(
            f"<name>a</name><name>b</name>{LOCATION}", {"name"}, id="name-twice"
        ),
        pytest.param(
            f"<relatedImage/>{LOCATION}", {"relatedImage"}, id="ref-without-href"
        ),
        pytest.param(
            f"<property>v</property>{LOCATION}", {"property"}, id="property-no-key"
        ),
        pytest.param(
            f'<property key=" ">v</property>{LOCATION}',
            {"property"},
            id="property-blank-key",
        ),
        pytest.param(
            "<type>BOGUS</type><imageLocation/><name>a</name><name>b</name>",
            {"type", "imageLocation", "name"},
            id="several-at-once",
        ),
    ],
)
def test_xml_problems_name_their_attribute(inner: str, names: set[str]) -> None:
    with pytest.raises(InvalidBody) as excinfo:
        read_xml(image_xml(inner))
    assert set(problems_of(excinfo)) == names
    assert excinfo.value.status == 400
    for name in names:
        assert name in excinfo.value.message


def test_unknown_type_message_lists_the_allowed_values() -> None:
    with pytest.raises(InvalidBody) as excinfo:
        read_xml(image_xml(f"<type>IMAGES</type>{LOCATION}"))
    message = problems_of(excinfo)["type"]
    assert "IMAGES" in message
    assert all(value in message for value in ("IMAGE", "SNAPSHOT", "PARTIAL_SNAPSHOT"))


def test_missing_location_says_required() -> None:
    with pytest.raises(InvalidBody) as excinfo:
        read_xml(image_xml("<name>n</name>"))
    assert excinfo.value.problems == ["imageLocation: required"]


@pytest.mark.parametrize(
    ("body", "names"),
    [
        pytest.param({"imageLocation": 5}, {"imageLocation"}, id="int-location"),
        pytest.param(
            {"imageLocation": MACHINE_URL, "name": 5}, {"name"}, id="int-name"
        ),
        pytest.param(
            {"imageLocation": MACHINE_URL, "name": True}, {"name"}, id="bool-name"
        ),
        pytest.param(
            {"imageLocation": MACHINE_URL, "type": ["IMAGE"]}, {"type"}, id="list-type"
        ),
        pytest.param(
            {"imageLocation": MACHINE_URL, "description": {"a": "b"}},
            {"description"},
            id="object-description",
        ),
        pytest.param(
            {"imageLocation": MACHINE_URL, "properties": ["a"]},
            {"property"},
            id="list-props",
        ),
        pytest.param(
            {"imageLocation": MACHINE_URL, "properties": {"a": 1}},
            {"property"},
            id="int-prop",
        ),
        pytest.param(
            {"imageLocation": MACHINE_URL, "relatedImage": "x/img1"},
            {"relatedImage"},
            id="bare-string-ref",
        ),
        pytest.param(
            {"imageLocation": MACHINE_URL, "relatedImage": {"href": 1}},
            {"relatedImage"},
            id="int-href",
        ),
        pytest.param(
            {"imageLocation": {"href": MACHINE_URL}}, {"imageLocation"}, id="ref-uri"
        ),
        pytest.param({"name": "n"}, {"imageLocation"}, id="missing-location"),
        pytest.param(
            {"type": "IMAGES", "name": 1.5},
            {"type", "name", "imageLocation"},
            id="several",
        ),
    ],
)
def test_json_problems_name_their_attribute(body: dict, names: set[str]) -> None:
    with pytest.raises(InvalidBody) as excinfo:
        read_json(body)
    assert set(problems_of(excinfo)) == names


# -- what is ignored ------------------------------------------------------------


READ_ONLY_XML = (
    f"<id>{BASE}/machine_images/forged</id>"
    "<created>2012-12-28T16:23:35+02:00</created>"
    "<updated>not even a date</updated>"
    "<state>BOGUS</state>"
    '<operation rel="delete" href="http://evil/"/>'
)


@pytest.mark.parametrize(
    "xmlns", [pytest.param(NS, id="ns"), pytest.param(None, id="no-ns")]
)
def test_xml_read_only_attributes_are_ignored(xmlns: str | None) -> None:
    body = image_xml(f"<name>n</name>{READ_ONLY_XML}{LOCATION}", xmlns=xmlns)
    assert read_xml(body) == {"name": "n", "imageLocation": MACHINE_URL}


def test_json_read_only_attributes_are_ignored() -> None:
    body = {
        "resourceURI": f"{NS}/MachineImage",
        "id": f"{BASE}/machine_images/forged",
        "name": "n",
        "created": 12,
        "state": "BOGUS",
        "operations": "not a list",
        "imageLocation": MACHINE_URL,
        "unknownKey": {"whatever": 1},
    }
    assert read_json(body) == {"name": "n", "imageLocation": MACHINE_URL}


@pytest.mark.parametrize(
    "inner",
    [
        pytest.param(
            '<x:type xmlns:x="urn:example:ext">BOGUS</x:type>', id="foreign-type"
        ),
        pytest.param(
            '<x:name xmlns:x="urn:example:ext">ignored</x:name>', id="foreign-name"
        ),
        pytest.param(
            '<x:extra xmlns:x="urn:example:ext"><x:deep>1</x:deep></x:extra>',
            id="foreign-tree",
        ),
        pytest.param("<unknownElement>1</unknownElement>", id="unknown-cimi-element"),
        pytest.param("<!-- a comment --><?pi data?>", id="comment-and-pi"),
    ],
)
def test_xml_extensions_are_ignored(inner: str) -> None:
    body = image_xml(f"<name>n</name>{inner}{LOCATION}")
    assert read_xml(body) == {"name": "n", "imageLocation": MACHINE_URL}


def test_foreign_location_does_not_count_as_one() -> None:
    body = image_xml(
        f'<x:imageLocation xmlns:x="urn:example:ext">{MACHINE_URL}</x:imageLocation>'
    )
    with pytest.raises(InvalidBody) as excinfo:
        read_xml(body)
    assert excinfo.value.problems == ["imageLocation: required"]


# -- properties -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("inner", "expected"),
    [
        pytest.param('<property key="k">v</property>', {"k": "v"}, id="deltacloud-key"),
        pytest.param('<property name="k">v</property>', {"k": "v"}, id="dsp8009-name"),
        pytest.param('<property name="k" key="k">v</property>', {"k": "v"}, id="both"),
        pytest.param('<property key="k"/>', {"k": ""}, id="empty-value"),
        pytest.param(
            '<property key="a">1</property><property name="b">2</property>',
            {"a": "1", "b": "2"},
            id="mixed",
        ),
    ],
)
def test_xml_properties(inner: str, expected: dict) -> None:
    values = read_xml(image_xml(inner + LOCATION))
    assert values == {"property": expected, "imageLocation": MACHINE_URL}


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        pytest.param({"k": "v"}, {"property": {"k": "v"}}, id="one"),
        pytest.param(
            {"a": "1", "b": ""}, {"property": {"a": "1", "b": ""}}, id="empty-value"
        ),
        pytest.param({}, {}, id="empty-dropped"),
    ],
)
def test_json_properties(properties: dict, expected: dict) -> None:
    values = read_json({"imageLocation": MACHINE_URL, "properties": properties})
    assert values == {**expected, "imageLocation": MACHINE_URL}


def test_json_property_with_a_blank_key_is_invalid() -> None:
    # BUG(tests): the XML reader refuses a property whose key is blank
    # (`<property key=" ">v</property>` -> InvalidBody "property: needs a key"
    # or name"),
    # but the JSON reader strips `" "` to `""` and accepts it:
    # {"imageLocation": "...", "properties": {" ": "v"}} decodes to
    # {"property": {"": "v"}, ...} instead of raising InvalidBody.
    with pytest.raises(InvalidBody) as excinfo:
        read_json({"imageLocation": MACHINE_URL, "properties": {" ": "v"}})
    assert set(problems_of(excinfo)) == {"property"}


# -- parse_xml --------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"   \n", id="blank"),
        pytest.param(b"not xml at all", id="text"),
        pytest.param(b"<MachineImage>", id="unclosed"),
        pytest.param(b"<MachineImage></Machine>", id="mismatched"),
        pytest.param(b"<a/><b/>", id="two-roots"),
        pytest.param(b"<c:MachineImage/>", id="unbound-prefix"),
        pytest.param(
            b"<MachineImage><name>&nbsp;</name></MachineImage>", id="undefined-entity"
        ),
        pytest.param(b"<MachineImage>\xff\xfe</MachineImage>", id="bad-utf8"),
        pytest.param(b"<a>" * 300 + b"</a>" * 300, id="too-deep"),
    ],
)
def test_malformed_xml_is_a_bad_request(body: bytes) -> None:
    with pytest.raises(BadRequest) as excinfo:
        codec.parse_xml(body)
    assert excinfo.value.status == 400
    assert not isinstance(excinfo.value, InvalidBody)


def _bomb(levels: int = 9) -> str:
    """Return a billion-laughs document: 10**levels copies of "lol"."""
    entities = "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, levels + 1)
    )
    return (
        f'<?xml version="1.0"?><!DOCTYPE MachineImage [<!ENTITY lol0 "lol">{entities}]>'
        f"<MachineImage><name>&lol{levels};</name>{LOCATION}</MachineImage>"
    )


ENCODINGS = [
    pytest.param("utf-8", id="utf-8"),
    pytest.param("utf-16", id="utf-16"),
    pytest.param("utf-32", id="utf-32"),
]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_entity_bomb_is_refused(encoding: str) -> None:
    body = _bomb().replace('"1.0"?>', f'"1.0" encoding="{encoding}"?>').encode(encoding)
    # NOTE: no timing here (speed lives in bench/); were the entities
    # expanded, the billion "lol"s would exhaust memory long before this raises.
    with pytest.raises(BadRequest):
        codec.decode(codec.parse_xml(body), MACHINE_IMAGE)


def _xxe(target: str, encoding: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>'
        f'<!DOCTYPE MachineImage [<!ENTITY xxe SYSTEM "{target}">]>'
        f"<MachineImage><name>&xxe;</name><description>x&xxe;x</description>"
        f"{LOCATION}</MachineImage>"
    ).encode(encoding)


@pytest.fixture
def secret_file(tmp_path: Path) -> tuple[str, str]:
    """A local file an external entity could point at, and its secret content."""
    secret = "SECRET-4f1c9a-do-not-leak"
    path = tmp_path / "secret.txt"
    path.write_text(secret)
    return path.as_uri(), secret


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_external_entity_is_a_bad_request(encoding: str, secret_file: tuple) -> None:
    # BUG(tests): parse_xml refuses a DOCTYPE by looking for the ASCII bytes
    # b"<!DOCTYPE"; a UTF-16 or UTF-32 body hides them, so for
    #   _xxe("file:///etc/passwd", "utf-16")
    # parse_xml returns a tree (the entity left unresolved, no content leaked)
    # and decode() gives {"imageLocation": ...} instead of raising BadRequest.
    # The module docstring promises "a document carrying a DOCTYPE is refused
    # outright". utf-8 passes; utf-16 and utf-32 fail.
    target, _ = secret_file
    with pytest.raises(BadRequest):
        codec.decode(codec.parse_xml(_xxe(target, encoding)), MACHINE_IMAGE)


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("source", ["tmp-file", "etc-passwd"])
def test_external_entity_content_never_appears(
    encoding: str, source: str, secret_file: tuple
) -> None:
    target, secret = secret_file
    if source == "etc-passwd":
        target, secret = "file:///etc/passwd", "root:"
    try:
        seen = repr(
            codec.decode(codec.parse_xml(_xxe(target, encoding)), MACHINE_IMAGE)
        )
    except BadRequest as ex:
        seen = repr(ex.message)
    assert secret not in seen


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            b'<!DOCTYPE MachineImage SYSTEM "file:///etc/passwd"><MachineImage/>',
            id="external-dtd",
        ),
        pytest.param(
            b'<!DOCTYPE m [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>'
            b"<MachineImage/>",
            id="parameter-entity",
        ),
        pytest.param(
            b'<!DOCTYPE m [<!ENTITY x "internal">]><MachineImage>&x;</MachineImage>',
            id="internal-entity",
        ),
        pytest.param(
            b'<!DOCTYPE m [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]><m>&x;</m>',
            id="network-entity",
        ),
        pytest.param(b"<!doctype m><MachineImage/>", id="lowercase-doctype"),
    ],
)
def test_any_doctype_is_a_bad_request(body: bytes) -> None:
    with pytest.raises(BadRequest):
        codec.parse_xml(body)


# -- parse_json -------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"{", id="unclosed"),
        pytest.param(b"{'name': 'x'}", id="single-quotes"),
        pytest.param(b'{"name": "x",}', id="trailing-comma"),
        pytest.param(b"\xff\xfe\xfd", id="bad-bytes"),
        pytest.param(b"<MachineImage/>", id="xml"),
    ],
)
def test_malformed_json_is_a_bad_request(body: bytes) -> None:
    with pytest.raises(BadRequest) as excinfo:
        codec.parse_json(body)
    assert not isinstance(excinfo.value, InvalidBody)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[]", id="empty-list"),
        pytest.param(b'[{"imageLocation": "x"}]', id="list"),
        pytest.param(b'"MachineImage"', id="string"),
        pytest.param(b"42", id="number"),
        pytest.param(b"null", id="null"),
        pytest.param(b"true", id="bool"),
    ],
)
def test_json_that_is_not_an_object_is_a_bad_request(body: bytes) -> None:
    with pytest.raises(BadRequest):
        codec.parse_json(body)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="arrays"),
        pytest.param(b'{"a":' * 100_000 + b"1" + b"}" * 100_000, id="objects"),
    ],
)
def test_deeply_nested_json_is_a_bad_request(body: bytes) -> None:
    # BUG(tests): parse_json catches only ValueError and UnicodeDecodeError;
    # json.loads raises RecursionError on deep nesting, so for
    #   b"[" * 100_000 + b"]" * 100_000
    # parse_json raises RecursionError ("maximum recursion depth exceeded while
    # decoding a JSON array") instead of BadRequest: a 500, not a 400.
    with pytest.raises(BadRequest):
        codec.parse_json(body)


# -- round trips ------------------------------------------------------------------


ROUND_TRIP_DOCS = [
    pytest.param(full_machine_image(), id="machine-image"),
    pytest.param(full_machine(), id="machine"),
    # BUG(tests): CLOUD_ENTRY_POINT has no input_roots, so decode() of any XML
    # body refuses its own root: to_xml(full_cloud_entry_point()) read back
    # raises InvalidBody ["root element <CloudEntryPoint> is not one of "]
    # (an empty list of allowed roots), while the JSON round trip works.
    pytest.param(full_cloud_entry_point(), id="cloud-entry-point"),
]
WIRES = [
    pytest.param(codec.to_xml, codec.parse_xml, id="xml"),
    pytest.param(codec.to_json, codec.parse_json, id="json"),
]


@pytest.mark.parametrize(("write", "parse"), WIRES)
@pytest.mark.parametrize("doc", ROUND_TRIP_DOCS)
def test_round_trip_keeps_writable_values(
    doc: Document, write: Any, parse: Any
) -> None:
    expected = writable(doc)
    assert expected  # the document has something a client may send
    assert codec.decode(parse(write(doc)), doc.type) == expected


@pytest.mark.parametrize(("write", "parse"), WIRES)
@pytest.mark.parametrize(
    ("doc", "read_only"),
    [
        pytest.param(
            full_machine_image(),
            {"id", "created", "updated", "state", "operation"},
            id="machine-image",
        ),
        pytest.param(
            full_machine(),
            {"id", "created", "state", "cpu", "memory", "cpuArch", "operation"},
            id="machine",
        ),
    ],
)
def test_round_trip_drops_read_only_values(
    doc: Document, read_only: set[str], write: Any, parse: Any
) -> None:
    assert read_only <= set(doc.values)
    assert not read_only & set(codec.decode(parse(write(doc)), doc.type))


def test_schemas_under_round_trip_are_the_three_tables() -> None:
    tables = {param.values[0].type.name for param in ROUND_TRIP_DOCS}
    assert tables == {t.name for t in (MACHINE_IMAGE, MACHINE, CLOUD_ENTRY_POINT)}
    assert writable(full_cloud_entry_point()) == {
        "name": "mock",
        "description": "Cloud Entry Point for the mock provider",
        "property": {"driver": "mock"},
    }


@pytest.mark.parametrize(
    ("parsed", "words"),
    [
        pytest.param(
            lambda: codec.parse_xml(
                b"<MachineImage><imageLocation>inst1</imageLocation>"
                b"<name>a<b>q</b>c</name></MachineImage>"
            ),
            "name: must be text",
            id="xml-mixed-content",
        ),
        pytest.param(
            lambda: codec.parse_json(
                b'{"imageLocation": "inst1", "name": "a\\u0000b"}'
            ),
            "name: holds characters",
            id="json-nul",
        ),
        pytest.param(
            lambda: codec.parse_json(
                b'{"imageLocation": "inst1", "description": "\\u0007"}'
            ),
            "description: holds characters",
            id="json-bell",
        ),
    ],
)
def test_text_xml_cannot_carry_is_refused(parsed, words) -> None:
    with pytest.raises(InvalidBody, match=words):
        codec.decode(parsed(), MACHINE_IMAGE)


def test_json_null_means_absent() -> None:
    values = codec.decode(
        codec.parse_json(b'{"imageLocation": "inst1", "name": null}'), MACHINE_IMAGE
    )

    assert "name" not in values


def test_nested_kinds_round_trip_in_both_formats() -> None:
    from gateway.cimi.schema import MACHINE_CONFIGURATION
    from gateway.cimi.schema import MACHINE_CREATE
    from gateway.cimi.schema import Document

    config = {
        "name": "big",
        "cpu": 4,
        "memory": 1024,
        "disk": [{"capacity": 10, "format": "ext4"}, {"capacity": 20}],
    }
    create = {
        "name": "m",
        "machineTemplate": {
            "initialState": "STOPPED",
            "machineConfig": {"cpu": 2, "memory": 4096},
            "machineImage": {"href": "http://h/cimi/machine_images/img1"},
            "credential": {"href": "http://h/cimi/credentials/k"},
        },
    }
    for rtype, values in ((MACHINE_CONFIGURATION, config), (MACHINE_CREATE, create)):
        for write, read in (
            (codec.to_xml, codec.parse_xml),
            (codec.to_json, codec.parse_json),
        ):
            back = codec.decode(read(write(Document(rtype, values))), rtype)
            assert back == values


@pytest.mark.parametrize(
    "body",
    [
        b'{"machineTemplate": {}}',
        b'{"machineTemplate": "http://h/t/1"}',
        b'{"machineTemplate": {"href": 5}}',
        b'{"machineTemplate": {"machineConfig": {"cpu": "two"}}}',
    ],
    ids=["empty", "not-object", "href-type", "nested-type"],
)
def test_bad_expandable_references(body: bytes) -> None:
    from gateway.cimi.schema import MACHINE_CREATE

    with pytest.raises(InvalidBody, match="machineTemplate"):
        codec.decode(codec.parse_json(body), MACHINE_CREATE)


@pytest.mark.parametrize(
    ("text", "value"), [("true", True), (" false ", False), ("1", True)]
)
def test_action_force_is_a_boolean(text: str, value: bool) -> None:
    from gateway.cimi.schema import ACTION

    body = f"<Action><action>urn:a/action/stop</action><force>{text}</force></Action>"
    assert codec.decode(codec.parse_xml(body.encode()), ACTION)["force"] is value
