"""The project's reference files: Deltacloud's seed page and the DSP8009 schema.

They are not part of the repository. The tests that read them find them in
``$CIMI_GATEWAY_SHARED`` (a folder holding ``seed/`` and ``notes/``), else in
the ``shared`` folder beside the repository; without them those tests skip,
saying what to put where. Nothing else in the suite needs them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lxml import etree

NS = "http://schemas.dmtf.org/cimi/1"

ENV_VAR = "CIMI_GATEWAY_SHARED"
REPO_ROOT = Path(__file__).resolve().parents[2]
SEED_PAGE = Path("seed") / "000_1af22411b7ec7335.txt"
XSD = Path("notes") / "DSP8009-1.0.0.xsd"


def shared_dir() -> Path:
    """Return where the reference files are looked for."""
    given = os.environ.get(ENV_VAR)
    return Path(given) if given else (REPO_ROOT / ".." / "shared").resolve()


def reference_file(relative: Path) -> Path:
    """Return a reference file's path; skip the test when it is missing."""
    path = shared_dir() / relative
    if not path.is_file():
        pytest.skip(
            f"{relative} not found in {shared_dir()}: put the project's shared/ "
            f"folder beside the repository, or set {ENV_VAR} to a folder holding "
            f"{relative}"
        )
    return path


def load_schema() -> etree.XMLSchema:
    """Return DSP8009 1.0.0, loaded without touching the network."""
    path = reference_file(XSD)
    return etree.XMLSchema(etree.parse(str(path), etree.XMLParser(no_network=True)))


def seed_page_text() -> str:
    """Return the seed page, Deltacloud's CIMI MachineImage documentation."""
    return reference_file(SEED_PAGE).read_text(encoding="utf-8")


def without_resource_uri(document: bytes) -> etree._Element:
    """Parse ``document``; take off what the README's Wire section says deviates.

    - the seed's ``resourceURI`` on a non-Collection root: DSP8009 allows it
      only on ``<Collection>``; Deltacloud's wire format puts it on every root;
    - the entry point's ``driver`` and ``provider``, which Deltacloud's client
      model requires and DSP8009 has no place for;
    - ResourceMetadata written as DSP0263 and Deltacloud write it: ``typeUri``
      (DSP8009: ``typeURI``), a capability's value as its text, several
      ``attribute`` elements (DSP8009 allows one).

    Nothing else is touched: the rest must validate as it is.
    """
    root = etree.fromstring(document)
    if etree.QName(root).localname != "Collection":
        root.attrib.pop("resourceURI", None)
    for element in list(root.iter(f"{{{NS}}}*")):
        name = etree.QName(element).localname
        parent = element.getparent()
        if name in ("driver", "provider") and etree.QName(parent).localname == (
            "CloudEntryPoint"
        ):
            parent.remove(element)
        elif name == "typeUri":
            element.tag = f"{{{NS}}}typeURI"
        elif name == "capability":
            element.text = None
        elif name == "attribute" and _follows_an_attribute(element):
            parent.remove(element)
    return root


def _follows_an_attribute(element: etree._Element) -> bool:
    previous = element.getprevious()
    return previous is not None and etree.QName(previous).localname == "attribute"
