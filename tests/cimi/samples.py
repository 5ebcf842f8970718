"""CIMI documents the codec tests share: the seed page's values and full ones.

The seed values are those of ``seed/000_1af22411b7ec7335.txt`` (Deltacloud's
mock images img1..img3). The ``full_*`` documents fill every attribute of their
type, read-only ones included, so a test sees every kind on the wire.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any

from gateway.cimi.schema import CLOUD_ENTRY_POINT
from gateway.cimi.schema import MACHINE
from gateway.cimi.schema import MACHINE_IMAGE
from gateway.cimi.schema import NS
from gateway.cimi.schema import Document
from gateway.cimi.schema import ResourceType
from gateway.cimi.schema import action_uri
from gateway.cimi.schema import collection_of

BASE = "http://localhost:3001/cimi"
PLUS_TWO = timezone(timedelta(hours=2))
IMAGES_URL = f"{BASE}/machine_images"


def seed_image(name: str, description: str, created: datetime) -> dict[str, Any]:
    """Return the values of one of the seed page's mock images."""
    return {
        "id": f"{IMAGES_URL}/{name}",
        "name": name,
        "description": description,
        "created": created,
        "state": "AVAILABLE",
        "type": "IMAGE",
        "imageLocation": f"mock://{name}",
    }


SEED_LISTED = datetime(2012, 12, 28, 16, 23, 35, tzinfo=PLUS_TWO)
SEED_COLLECTION = Document(
    collection_of(MACHINE_IMAGE),
    {
        "id": IMAGES_URL,
        "count": 3,
        "MachineImage": [
            seed_image("img1", "Fedora 10", SEED_LISTED),
            seed_image("img2", "Fedora 10", SEED_LISTED),
            seed_image("img3", "JBoss", SEED_LISTED),
        ],
        "operation": [("add", IMAGES_URL)],
    },
)
SEED_IMAGE = Document(
    MACHINE_IMAGE,
    seed_image(
        "img1", "Fedora 10", datetime(2012, 12, 28, 16, 55, 42, tzinfo=PLUS_TWO)
    ),
)
SEED_CREATED = Document(
    MACHINE_IMAGE,
    seed_image(
        "some_name",
        "my new machine image",
        datetime(2012, 12, 28, 17, 10, 12, tzinfo=PLUS_TWO),
    ),
)
# The capture POST body of the seed page, as decode() should return it.
SEED_CREATE_VALUES = {
    "name": "some_name",
    "description": "my new machine_image",
    "type": "IMAGE",
    "imageLocation": f"{BASE}/machines/inst1",
}


def full_machine_image(name: str = "img9") -> Document:
    """Return a MachineImage with every attribute set."""
    return Document(
        MACHINE_IMAGE,
        {
            "id": f"{IMAGES_URL}/{name}",
            "name": name,
            "description": "Fedora 17 & friends",
            "created": datetime(2013, 1, 2, 3, 4, 5, tzinfo=PLUS_TWO),
            "updated": datetime(2013, 2, 3, 4, 5, 6, tzinfo=UTC),
            "property": {"owner": "mockuser", "arch": "x86_64"},
            "state": "CREATING",
            "type": "SNAPSHOT",
            "imageLocation": f"{BASE}/machines/inst1",
            "relatedImage": f"{IMAGES_URL}/img1",
            "operation": [
                ("edit", f"{IMAGES_URL}/{name}"),
                ("delete", f"{IMAGES_URL}/{name}"),
            ],
        },
    )


def full_machine(name: str = "inst1") -> Document:
    """Return a Machine with every attribute set."""
    url = f"{BASE}/machines/{name}"
    return Document(
        MACHINE,
        {
            "id": url,
            "name": name,
            "description": "No description set for Machine " + name,
            "created": datetime(2013, 1, 1, 0, 0, 0, tzinfo=UTC),
            "property": {"foo": "bar"},
            "state": "STARTED",
            "cpu": 2,
            "memory": 1782579,
            "cpuArch": "x86_64",
            "operation": [
                (action_uri("restart"), f"{url}/restart"),
                (action_uri("stop"), f"{url}/stop"),
                (action_uri("capture"), IMAGES_URL),
            ],
        },
    )


def full_cloud_entry_point() -> Document:
    """Return an entry point serving a few collections, given out of order."""
    return Document(
        CLOUD_ENTRY_POINT,
        {
            "id": f"{BASE}/cloudEntryPoint",
            "name": "mock",
            "description": "Cloud Entry Point for the mock provider",
            "created": datetime(2013, 7, 1, 12, 0, 0, tzinfo=UTC),
            "property": {"driver": "mock"},
            "baseURI": f"{BASE}/",
            # NOTE(tests): deliberately not in DSP0263 order.
            "volumes": f"{BASE}/volumes",
            "machineImages": IMAGES_URL,
            "machines": f"{BASE}/machines",
            "resourceMetadata": f"{BASE}/resource_metadata",
            "operation": [("edit", f"{BASE}/cloudEntryPoint")],
        },
    )


def collection(member: ResourceType, url: str, entries: list[Document]) -> Document:
    """Return the collection of ``entries`` at ``url``, with an add operation."""
    return Document(
        collection_of(member),
        {
            "id": url,
            "count": len(entries),
            member.name: [entry.values for entry in entries],
            "operation": [("add", url)],
        },
    )


def writable(doc: Document) -> dict[str, Any]:
    """Return the values of ``doc`` a client may send back."""
    return {
        name: value
        for name, value in doc.values.items()
        if not doc.type.by_name[name].read_only
    }


def q(name: str) -> str:
    """Return ``name`` in the CIMI namespace, in Clark notation."""
    return f"{{{NS}}}{name}"
