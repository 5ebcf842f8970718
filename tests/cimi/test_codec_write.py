"""Writing: Documents to CIMI XML and JSON, checked against the seed page."""

from __future__ import annotations

import json
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any

import pytest
from lxml import etree

from gateway.cimi import codec
from gateway.cimi.schema import CLOUD_ENTRY_POINT
from gateway.cimi.schema import ENTRY_POINT_COLLECTIONS
from gateway.cimi.schema import MACHINE
from gateway.cimi.schema import MACHINE_IMAGE
from gateway.cimi.schema import NS
from gateway.cimi.schema import Document
from gateway.cimi.schema import collection_of

from .samples import BASE
from .samples import IMAGES_URL
from .samples import SEED_COLLECTION
from .samples import SEED_CREATED
from .samples import SEED_IMAGE
from .samples import collection
from .samples import full_cloud_entry_point
from .samples import full_machine
from .samples import full_machine_image
from .samples import q


def canonical(element: etree._Element) -> tuple:
    """Return ``element`` as nested tuples, ignoring whitespace-only text."""
    return (
        element.tag,
        dict(element.attrib),
        (element.text or "").strip(),
        (element.tail or "").strip(),
        [canonical(child) for child in element],
    )


def ordered(body: bytes | dict) -> Any:
    """Return JSON with every object as a list of pairs, so order counts."""
    text = body if isinstance(body, bytes) else json.dumps(body)
    return json.loads(text, object_pairs_hook=list)


# -- XML: golden documents --------------------------------------------------

# A MachineImage with every attribute, in DSP8009's element order; properties
# carry both `name` (DSP8009) and `key` (Deltacloud).
FULL_IMAGE_XML = f"""
<MachineImage xmlns="{NS}" resourceURI="{NS}/MachineImage">
  <id>{IMAGES_URL}/img9</id>
  <name>img9</name>
  <description>Fedora 17 &amp; friends</description>
  <created>2013-01-02T03:04:05+02:00</created>
  <updated>2013-02-03T04:05:06+00:00</updated>
  <property name="owner" key="owner">mockuser</property>
  <property name="arch" key="arch">x86_64</property>
  <state>CREATING</state>
  <type>SNAPSHOT</type>
  <imageLocation>{BASE}/machines/inst1</imageLocation>
  <relatedImage href="{IMAGES_URL}/img1"/>
  <operation rel="edit" href="{IMAGES_URL}/img9"/>
  <operation rel="delete" href="{IMAGES_URL}/img9"/>
</MachineImage>
""".encode()

FULL_CEP_XML = f"""
<CloudEntryPoint xmlns="{NS}" resourceURI="{NS}/CloudEntryPoint">
  <id>{BASE}/cloudEntryPoint</id>
  <name>mock</name>
  <description>Cloud Entry Point for the mock provider</description>
  <created>2013-07-01T12:00:00+00:00</created>
  <property name="driver" key="driver">mock</property>
  <baseURI>{BASE}/</baseURI>
  <resourceMetadata href="{BASE}/resource_metadata"/>
  <machines href="{BASE}/machines"/>
  <machineImages href="{IMAGES_URL}"/>
  <volumes href="{BASE}/volumes"/>
  <operation rel="edit" href="{BASE}/cloudEntryPoint"/>
</CloudEntryPoint>
""".encode()


@pytest.mark.parametrize(
    ("doc", "seed_key", "golden"),
    [
        pytest.param(SEED_COLLECTION, "collection", None, id="seed-collection"),
        pytest.param(SEED_IMAGE, "image", None, id="seed-image"),
        pytest.param(SEED_CREATED, "created", None, id="seed-created"),
        pytest.param(full_machine_image(), None, FULL_IMAGE_XML, id="full-image"),
        pytest.param(full_cloud_entry_point(), None, FULL_CEP_XML, id="entry-point"),
    ],
)
def test_xml_matches_golden(
    doc: Document, seed_key: str | None, golden: bytes | None, seed_xml: dict
) -> None:
    expected = etree.fromstring(seed_xml[seed_key] if seed_key else golden)
    actual = etree.fromstring(codec.to_xml(doc))
    assert canonical(actual) == canonical(expected)


@pytest.mark.parametrize(
    "doc",
    [
        pytest.param(SEED_COLLECTION, id="collection"),
        pytest.param(full_machine_image(), id="image"),
        pytest.param(full_cloud_entry_point(), id="entry-point"),
    ],
)
def test_xml_uses_the_default_namespace_only(doc: Document) -> None:
    root = etree.fromstring(codec.to_xml(doc))
    assert root.nsmap == {None: NS}
    assert all(element.prefix is None for element in root.iter())
    assert all(child.nsmap == {None: NS} for child in root.iter())


def test_xml_collection_members_carry_no_resource_uri() -> None:
    root = etree.fromstring(codec.to_xml(SEED_COLLECTION))
    members = root.findall(q("MachineImage"))
    assert len(members) == 3
    assert all(member.get("resourceURI") is None for member in members)


def test_xml_property_carries_name_and_key() -> None:
    root = etree.fromstring(codec.to_xml(full_machine_image()))
    props = root.findall(q("property"))
    assert [(p.get("name"), p.get("key"), p.text) for p in props] == [
        ("owner", "owner", "mockuser"),
        ("arch", "arch", "x86_64"),
    ]


# -- JSON: golden documents -------------------------------------------------


def _seed_image_json(name: str, description: str) -> dict:
    return {
        "id": f"{IMAGES_URL}/{name}",
        "name": name,
        "description": description,
        "created": "2012-12-28T16:23:35+02:00",
        "state": "AVAILABLE",
        "type": "IMAGE",
        "imageLocation": f"mock://{name}",
    }


SEED_COLLECTION_JSON = {
    "resourceURI": f"{NS}/MachineImageCollection",
    "id": IMAGES_URL,
    "count": 3,
    "machineImages": [
        _seed_image_json("img1", "Fedora 10"),
        _seed_image_json("img2", "Fedora 10"),
        _seed_image_json("img3", "JBoss"),
    ],
    "operations": [{"rel": "add", "href": IMAGES_URL}],
}

FULL_IMAGE_JSON = {
    "resourceURI": f"{NS}/MachineImage",
    "id": f"{IMAGES_URL}/img9",
    "name": "img9",
    "description": "Fedora 17 & friends",
    "created": "2013-01-02T03:04:05+02:00",
    "updated": "2013-02-03T04:05:06+00:00",
    "properties": {"owner": "mockuser", "arch": "x86_64"},
    "state": "CREATING",
    "type": "SNAPSHOT",
    "imageLocation": f"{BASE}/machines/inst1",
    "relatedImage": {"href": f"{IMAGES_URL}/img1"},
    "operations": [
        {"rel": "edit", "href": f"{IMAGES_URL}/img9"},
        {"rel": "delete", "href": f"{IMAGES_URL}/img9"},
    ],
}

FULL_MACHINE_JSON = {
    "resourceURI": f"{NS}/Machine",
    "id": f"{BASE}/machines/inst1",
    "name": "inst1",
    "description": "No description set for Machine inst1",
    "created": "2013-01-01T00:00:00+00:00",
    "properties": {"foo": "bar"},
    "state": "STARTED",
    "cpu": 2,
    "memory": 1782579,
    "cpuArch": "x86_64",
    "operations": [
        {"rel": f"{NS}/action/restart", "href": f"{BASE}/machines/inst1/restart"},
        {"rel": f"{NS}/action/stop", "href": f"{BASE}/machines/inst1/stop"},
        {"rel": f"{NS}/action/capture", "href": IMAGES_URL},
    ],
}

FULL_CEP_JSON = {
    "resourceURI": f"{NS}/CloudEntryPoint",
    "id": f"{BASE}/cloudEntryPoint",
    "name": "mock",
    "description": "Cloud Entry Point for the mock provider",
    "created": "2013-07-01T12:00:00+00:00",
    "properties": {"driver": "mock"},
    "baseURI": f"{BASE}/",
    "resourceMetadata": {"href": f"{BASE}/resource_metadata"},
    "machines": {"href": f"{BASE}/machines"},
    "machineImages": {"href": IMAGES_URL},
    "volumes": {"href": f"{BASE}/volumes"},
    "operations": [{"rel": "edit", "href": f"{BASE}/cloudEntryPoint"}],
}


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        pytest.param(SEED_COLLECTION, SEED_COLLECTION_JSON, id="seed-collection"),
        pytest.param(full_machine_image(), FULL_IMAGE_JSON, id="full-image"),
        pytest.param(full_machine(), FULL_MACHINE_JSON, id="full-machine"),
        pytest.param(full_cloud_entry_point(), FULL_CEP_JSON, id="entry-point"),
    ],
)
def test_json_matches_golden(doc: Document, expected: dict) -> None:
    # Pairs, not dicts: key order counts, resourceURI first.
    assert ordered(codec.to_json(doc)) == ordered(expected)


@pytest.mark.parametrize(
    "doc",
    [
        pytest.param(SEED_COLLECTION, id="collection"),
        pytest.param(SEED_IMAGE, id="image"),
        pytest.param(full_machine(), id="machine"),
        pytest.param(full_cloud_entry_point(), id="entry-point"),
        pytest.param(Document(MACHINE_IMAGE, {}), id="empty-image"),
    ],
)
def test_json_resource_uri_comes_first(doc: Document) -> None:
    first_key, first_value = ordered(codec.to_json(doc))[0]
    assert first_key == "resourceURI"
    assert first_value == doc.type.type_uri


@pytest.mark.parametrize(
    ("doc", "path", "expected"),
    [
        pytest.param(SEED_COLLECTION, ("count",), 3, id="collection-count"),
        pytest.param(full_machine(), ("cpu",), 2, id="machine-cpu"),
        pytest.param(full_machine(), ("memory",), 1782579, id="machine-memory"),
        pytest.param(
            collection(MACHINE, f"{BASE}/machines", [full_machine()]),
            ("machines", 0, "memory"),
            1782579,
            id="member-memory",
        ),
    ],
)
def test_json_integers_are_numbers(doc: Document, path: tuple, expected: int) -> None:
    value = json.loads(codec.to_json(doc))
    for step in path:
        value = value[step]
    assert type(value) is int
    assert value == expected


@pytest.mark.parametrize(
    ("doc", "xml_text"),
    [
        pytest.param(SEED_COLLECTION, "3", id="collection-count"),
        pytest.param(full_machine(), "2", id="machine-cpu"),
    ],
)
def test_xml_integers_are_decimal_text(doc: Document, xml_text: str) -> None:
    name = "count" if doc.type.root == "Collection" else "cpu"
    assert etree.fromstring(codec.to_xml(doc)).findtext(q(name)) == xml_text


# -- empty values -----------------------------------------------------------


@pytest.mark.parametrize(
    ("attr", "empty"),
    [
        pytest.param("description", "", id="empty-string"),
        pytest.param("description", None, id="none"),
        pytest.param("property", {}, id="empty-properties"),
        pytest.param("operation", [], id="empty-operations"),
        pytest.param("relatedImage", None, id="none-ref"),
        pytest.param("relatedImage", "", id="empty-ref"),
        pytest.param("created", None, id="none-date"),
    ],
)
def test_empty_values_are_omitted(attr: str, empty: Any) -> None:
    values = {**full_machine_image().values, attr: empty}
    doc = Document(MACHINE_IMAGE, values)
    json_key = MACHINE_IMAGE.by_name[attr].json_key

    assert json_key not in json.loads(codec.to_json(doc))
    assert etree.fromstring(codec.to_xml(doc)).find(q(attr)) is None


def test_an_empty_collection_still_counts_zero() -> None:
    doc = collection(MACHINE_IMAGE, IMAGES_URL, [])
    # count 0 is a value, not an empty one: DSP8009 requires <count>.
    assert etree.fromstring(codec.to_xml(doc)).findtext(q("count")) == "0"
    assert json.loads(codec.to_json(doc))["count"] == 0


# -- dates ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("created", "text"),
    [
        pytest.param(
            datetime(2012, 12, 28, 16, 23, 35, tzinfo=timezone(timedelta(hours=2))),
            "2012-12-28T16:23:35+02:00",
            id="plus-two",
        ),
        pytest.param(
            datetime(2012, 12, 28, 14, 23, 35, tzinfo=UTC),
            "2012-12-28T14:23:35+00:00",
            id="utc",
        ),
        pytest.param(
            datetime(2012, 12, 28, 8, 53, 35, tzinfo=timezone(-timedelta(hours=5.5))),
            "2012-12-28T08:53:35-05:30",
            id="minus-five-thirty",
        ),
        pytest.param(
            datetime(2012, 12, 28, 16, 23, 35, 123456, tzinfo=UTC),
            "2012-12-28T16:23:35+00:00",
            id="microseconds-dropped",
        ),
    ],
)
def test_dates_are_iso_8601_with_their_offset(created: datetime, text: str) -> None:
    doc = Document(MACHINE_IMAGE, {"created": created})
    assert etree.fromstring(codec.to_xml(doc)).findtext(q("created")) == text
    assert json.loads(codec.to_json(doc))["created"] == text
    assert datetime.fromisoformat(text) == created.replace(microsecond=0)


# -- entry point ------------------------------------------------------------


def test_entry_point_lists_served_collections_in_dsp0263_order() -> None:
    doc = full_cloud_entry_point()
    root = etree.fromstring(codec.to_xml(doc))
    refs = [
        etree.QName(child).localname
        for child in root
        if etree.QName(child).localname in ENTRY_POINT_COLLECTIONS
    ]
    served = [key for key in ENTRY_POINT_COLLECTIONS if key in doc.values]
    assert (
        refs == served == ["resourceMetadata", "machines", "machineImages", "volumes"]
    )
    json_keys = [
        k for k in json.loads(codec.to_json(doc)) if k in ENTRY_POINT_COLLECTIONS
    ]
    assert json_keys == served


# -- text that needs escaping -----------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Fédora ☃ 10", id="non-ascii"),
        pytest.param("<b>&amp; \"quoted\" 'single'</b>", id="markup"),
        pytest.param("line one\nline two\ttabbed", id="newlines"),
    ],
)
def test_text_survives_escaping(text: str) -> None:
    doc = Document(MACHINE_IMAGE, {"description": text, "property": {"k": text}})
    root = etree.fromstring(codec.to_xml(doc))
    assert root.findtext(q("description")) == text
    assert root.findtext(q("property")) == text
    body = codec.to_json(doc)
    assert json.loads(body.decode("utf-8"))["description"] == text
    assert json.loads(body)["properties"] == {"k": text}


# -- encode() and error documents -------------------------------------------


@pytest.mark.parametrize(
    ("media_type", "writer"),
    [
        pytest.param(codec.JSON_MEDIA_TYPE, codec.to_json, id="json"),
        pytest.param(codec.XML_MEDIA_TYPE, codec.to_xml, id="xml"),
    ],
)
def test_encode_picks_the_writer(media_type: str, writer: Any) -> None:
    assert codec.encode(SEED_IMAGE, media_type) == writer(SEED_IMAGE)


ERROR_MESSAGE = "imageLocation: '<x> & \"y\"' is not a URI"


def test_error_document_in_xml() -> None:
    body = codec.encode_error(
        400, "Bad Request", ERROR_MESSAGE, f"{IMAGES_URL}?a=1&b=2", codec.XML_MEDIA_TYPE
    )
    root = etree.fromstring(body)
    assert root.tag == "error"
    assert root.attrib == {"status": "400", "url": f"{IMAGES_URL}?a=1&b=2"}
    assert [(child.tag, child.text) for child in root] == [
        ("code", "400"),
        ("title", "Bad Request"),
        ("message", ERROR_MESSAGE),
    ]


def test_error_document_in_json() -> None:
    body = codec.encode_error(
        404, "Not Found", ERROR_MESSAGE, f"{BASE}/machines/x", codec.JSON_MEDIA_TYPE
    )
    assert json.loads(body) == {
        "code": 404,
        "error": "Not Found",
        "message": ERROR_MESSAGE,
        "url": f"{BASE}/machines/x",
    }


def test_error_documents_end_with_the_request_id_when_there_is_one() -> None:
    xml = codec.encode_error(
        500, "Internal Server Error", "x", "/cimi", codec.XML_MEDIA_TYPE, "rid-7"
    )
    assert [child.tag for child in etree.fromstring(xml)] == [
        "code",
        "title",
        "message",
        "requestId",
    ]
    assert etree.fromstring(xml).findtext("requestId") == "rid-7"
    body = codec.encode_error(
        500, "Internal Server Error", "x", "/cimi", codec.JSON_MEDIA_TYPE, "rid-7"
    )
    assert list(json.loads(body)) == ["code", "error", "message", "url", "requestId"]
    assert json.loads(body)["requestId"] == "rid-7"


def test_collection_type_names() -> None:
    # The resourceURI the seed shows, and the JSON member keys Deltacloud used.
    assert collection_of(MACHINE_IMAGE).type_uri == f"{NS}/MachineImageCollection"
    assert collection_of(MACHINE).type_uri == f"{NS}/MachineCollection"
    assert collection_of(MACHINE_IMAGE).root == "Collection"
    assert CLOUD_ENTRY_POINT.type_uri == f"{NS}/CloudEntryPoint"
