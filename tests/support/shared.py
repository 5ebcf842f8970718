"""Where ``../shared`` (seed page, notes, DSP8009 schema) sits beside the repo."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = (REPO_ROOT / ".." / "shared").resolve()
SEED_PAGE = SHARED / "seed" / "000_1af22411b7ec7335.txt"
XSD = SHARED / "notes" / "DSP8009-1.0.0.xsd"


def load_schema() -> etree.XMLSchema:
    """Return DSP8009 1.0.0, loaded without touching the network."""
    return etree.XMLSchema(etree.parse(str(XSD), etree.XMLParser(no_network=True)))


def without_resource_uri(document: bytes) -> etree._Element:
    """Parse ``document``; drop the seed's ``resourceURI`` from a non-Collection root.

    DSP8009 allows that attribute only on ``<Collection>``; Deltacloud's wire
    format (our seed) puts it on every root.
    """
    root = etree.fromstring(document)
    if etree.QName(root).localname != "Collection":
        root.attrib.pop("resourceURI", None)
    return root
