"""The text XML writer against its reference, lxml's serialization of the tree.

Random values for every attribute kind of every type written (escapes, CR,
LF, TAB, quotes, non-ASCII, astral and lone-surrogate text XML cannot carry),
byte for byte, and every output parsed back.
"""

from __future__ import annotations

from datetime import UTC
from datetime import timedelta
from datetime import timezone

from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from gateway.cimi import codec
from gateway.cimi import xml_text
from gateway.cimi.schema import CLOUD_ENTRY_POINT
from gateway.cimi.schema import JOB
from gateway.cimi.schema import MACHINE
from gateway.cimi.schema import MACHINE_CONFIGURATION
from gateway.cimi.schema import MACHINE_IMAGE
from gateway.cimi.schema import MACHINE_TEMPLATE
from gateway.cimi.schema import RESOURCE_METADATA
from gateway.cimi.schema import Document
from gateway.cimi.schema import Kind
from gateway.cimi.schema import ResourceType
from gateway.cimi.schema import collection_of

# Any code point, surrogates included; and the characters escapes are about.
ANY_TEXT = st.text(
    st.one_of(
        st.characters(codec=None, categories=None),
        st.sampled_from("&<>\"'\r\n\t ]]>\x00\x0c\ufffe\U0001f600é"),
    ),
    max_size=12,
)
ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
)
TYPES = (
    MACHINE,
    MACHINE_IMAGE,
    MACHINE_CONFIGURATION,
    MACHINE_TEMPLATE,
    JOB,
    CLOUD_ENTRY_POINT,
    RESOURCE_METADATA,
)


def values_of(rtype: ResourceType, depth: int = 0) -> st.SearchStrategy[dict]:
    fields = {attr.name: value_of(attr, depth) for attr in rtype.attrs}
    return st.fixed_dictionaries({}, optional=fields)


def document_of(depth: int) -> st.SearchStrategy[Document]:
    return st.sampled_from(TYPES[:5]).flatmap(
        lambda rtype: values_of(rtype, depth + 1).flatmap(
            lambda values: ANY_TEXT.map(
                lambda id: Document(rtype, {**values, "id": id})
            )
        )
    )


def value_of(attr, depth: int) -> st.SearchStrategy:
    kind = attr.kind
    if kind in (Kind.TEXT, Kind.URI, Kind.ENUM):
        return ANY_TEXT
    if kind is Kind.INTEGER:
        return st.integers(-(2**63), 2**63 - 1)
    if kind is Kind.DATETIME:
        return st.datetimes(timezones=ZONES)
    if kind is Kind.BOOLEAN:
        return st.booleans()
    if kind is Kind.PROPERTIES:
        return st.dictionaries(ANY_TEXT, ANY_TEXT, max_size=3)
    if kind is Kind.OPERATIONS:
        return st.lists(st.tuples(ANY_TEXT, ANY_TEXT), max_size=3)
    if kind in (Kind.MEMBERS, Kind.STRUCTS, Kind.DESCRIPTORS):
        if depth > 1:
            return st.just([])
        return st.lists(values_of(attr.member, depth + 1), max_size=3)
    if kind is Kind.REF:
        if depth > 1:
            return ANY_TEXT
        return st.one_of(ANY_TEXT, document_of(depth))
    if kind is Kind.EXPANDABLE:
        inline = values_of(attr.member, depth + 1) if attr.member else st.just({})
        by_value = st.tuples(st.one_of(st.none(), ANY_TEXT), inline).map(
            lambda pair: {**pair[1], **({"href": pair[0]} if pair[0] else {})}
        )
        if depth > 1:
            return by_value
        return st.one_of(by_value, document_of(depth))
    raise AssertionError(f"no strategy for {kind}")


DOCUMENTS = st.one_of(
    *(values_of(rtype).map(lambda v, t=rtype: Document(t, v)) for rtype in TYPES),
    *(
        st.lists(values_of(rtype, 1), max_size=3).map(
            lambda members, t=rtype: Document(
                collection_of(t), {"id": "c", "count": len(members), t.name: members}
            )
        )
        for rtype in TYPES
    ),
)


@given(DOCUMENTS)
def test_the_text_writer_writes_what_lxml_writes(doc):
    written = xml_text.to_xml(doc)

    assert written == codec.to_xml_tree(doc)
    etree.fromstring(written)  # well-formed, whatever the values


def test_the_escapes_by_hand():
    doc = Document(
        MACHINE,
        {
            "id": 'a&b<c>d"e',
            "name": "x\r\ny\tz & é 😀",
            "property": {'k"\n': "v<>"},
            "operation": [("r&", "h\t")],
        },
    )
    assert xml_text.to_xml(doc) == codec.to_xml_tree(doc)
    assert b"x&#13;\ny\tz &amp; &#233; &#128512;" in xml_text.to_xml(doc)
