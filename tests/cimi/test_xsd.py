"""Every XML document the codec writes is valid DSP8009, but for resourceURI.

The seed (Deltacloud's wire format) puts a ``resourceURI`` attribute on every
root; DSP8009 allows it only on ``<Collection>``. Everything else must fit the
schema: element names, order, types, the property ``name`` attribute.
"""

from __future__ import annotations

import pytest
from lxml import etree

from gateway.cimi import codec
from gateway.cimi.schema import MACHINE
from gateway.cimi.schema import MACHINE_IMAGE
from gateway.cimi.schema import Document

from .samples import BASE
from .samples import IMAGES_URL
from .samples import SEED_COLLECTION
from .samples import SEED_CREATED
from .samples import SEED_IMAGE
from .samples import collection
from .samples import full_cloud_entry_point
from .samples import full_machine
from .samples import full_machine_image

DOCUMENTS = [
    pytest.param(full_machine_image(), id="machine-image"),
    pytest.param(SEED_IMAGE, id="seed-image"),
    pytest.param(SEED_CREATED, id="seed-created"),
    pytest.param(full_machine(), id="machine"),
    pytest.param(full_cloud_entry_point(), id="cloud-entry-point"),
    pytest.param(SEED_COLLECTION, id="seed-image-collection"),
    pytest.param(
        collection(
            MACHINE_IMAGE,
            IMAGES_URL,
            [full_machine_image("img8"), full_machine_image("img9")],
        ),
        id="machine-image-collection",
    ),
    pytest.param(
        collection(
            MACHINE, f"{BASE}/machines", [full_machine("inst1"), full_machine("inst2")]
        ),
        id="machine-collection",
    ),
    pytest.param(collection(MACHINE, f"{BASE}/machines", []), id="empty-collection"),
]

NON_COLLECTIONS = [
    param for param in DOCUMENTS if param.values[0].type.root != "Collection"
]


def emitted(doc: Document) -> etree._Element:
    """Return the XML the codec writes for ``doc``, parsed."""
    return etree.fromstring(codec.to_xml(doc))


def without_resource_uri(root: etree._Element) -> etree._Element:
    """Drop ``resourceURI`` from a non-Collection root, as DSP8009 wants."""
    if etree.QName(root).localname != "Collection":
        del root.attrib["resourceURI"]
    return root


@pytest.mark.parametrize("doc", DOCUMENTS)
def test_emitted_xml_is_valid_dsp8009(
    doc: Document, cimi_schema: etree.XMLSchema
) -> None:
    root = without_resource_uri(emitted(doc))
    assert cimi_schema.validate(root), cimi_schema.error_log.filter_from_errors()


@pytest.mark.parametrize("doc", NON_COLLECTIONS)
def test_resource_uri_on_a_resource_root_is_not_dsp8009(
    doc: Document, cimi_schema: etree.XMLSchema
) -> None:
    # Proves the test above checks something: the attribute is there, and
    # DSP8009 refuses it.
    root = emitted(doc)
    assert root.get("resourceURI") == doc.type.type_uri
    assert not cimi_schema.validate(root)
    assert "resourceURI" in str(cimi_schema.error_log)


def test_schema_refuses_a_misordered_document(cimi_schema: etree.XMLSchema) -> None:
    # The schema is loaded for real and checks order: state after type fails.
    root = without_resource_uri(emitted(SEED_IMAGE))
    state = root.find("{*}state")
    root.remove(state)
    root.append(state)
    assert not cimi_schema.validate(root)
