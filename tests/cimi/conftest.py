"""Fixtures for the codec tests: the seed page's XML bodies and the DSP8009 schema.

Both come from the project's reference files (``tests/support/shared.py``):
without them, the tests asking for these fixtures skip and say why.
"""

from __future__ import annotations

import html
import re

import pytest
from lxml import etree

from tests.support.shared import load_schema
from tests.support.shared import seed_page_text


def _seed_bodies() -> dict[str, bytes]:
    """Return the XML bodies of the seed page's examples, keyed by their role."""
    page = seed_page_text()
    bodies = []
    for block in re.findall(r"<pre>(.*?)</pre>", page, flags=re.DOTALL):
        text = html.unescape(block)
        # An example is HTTP headers, then (maybe) an XML body from its first "<".
        start = re.search(r"^<", text, flags=re.MULTILINE)
        if start:
            bodies.append(text[start.start() :].strip().encode())
    # NOTE(tests): the page shows, in order, the collection, one image, the
    # capture POST body and the 201 answer to it.
    keys = ("collection", "image", "create", "created")
    assert len(bodies) == len(keys), f"the seed page has {len(bodies)} XML bodies"
    return dict(zip(keys, bodies, strict=True))


@pytest.fixture(scope="session")
def seed_xml() -> dict[str, bytes]:
    """The seed page's XML bodies: collection, image, create, created."""
    return _seed_bodies()


@pytest.fixture(scope="session")
def cimi_schema() -> etree.XMLSchema:
    """DSP8009 1.0.0, loaded once, without touching the network."""
    return load_schema()
