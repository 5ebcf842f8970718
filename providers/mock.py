"""The embedded ``mock`` cloud: a libcloud driver of ours over the gateway's store.

It makes ``cimi-gateway serve`` useful with no cloud account. It starts with
Deltacloud's mock fixtures (images img1..img3, machines inst0..inst3, sizes
m1-small, m1-large, m1-xlarge), keeps every change in the store, so a restart
loses nothing, and accepts only ``mockuser``/``mockpassword``, as Deltacloud's
mock did.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from libcloud.common.types import InvalidCredsError
from libcloud.compute.base import Node
from libcloud.compute.base import NodeDriver
from libcloud.compute.base import NodeImage
from libcloud.compute.base import NodeSize
from libcloud.compute.types import NodeState

from gateway.cimi.errors import Conflict
from gateway.cimi.errors import NotFound
from providers.base import CAPTURE
from providers.base import DELETE
from providers.base import Credentials
from providers.base import LibcloudProvider
from providers.base import Setting

USER, PASSWORD = "mockuser", "mockpassword"
IMAGE, MACHINE = "image", "machine"

# An image id must be usable as one URL path segment as it is.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._~-]{1,128}$")

# The mock cloud's own status strings (Deltacloud's), as a real cloud has its own.
IMAGE_STATE = {"available": "AVAILABLE", "pending": "CREATING", "deleting": "DELETING"}
MACHINE_STATE = {
    "PENDING": "CREATING",
    "RUNNING": "STARTED",
    "STOPPING": "STOPPING",
    "STOPPED": "STOPPED",
    "REBOOTING": "STARTING",
    "SHUTTING_DOWN": "DELETING",
}
_NODE_STATE = {
    "PENDING": NodeState.PENDING,
    "RUNNING": NodeState.RUNNING,
    "STOPPING": NodeState.STOPPING,
    "STOPPED": NodeState.STOPPED,
    "REBOOTING": NodeState.REBOOTING,
}


@cache
def fixtures() -> dict[str, Any]:
    """Return the seed data shipped with the package."""
    text = resources.files("providers").joinpath("mock_fixtures.json").read_text()
    return json.loads(text)


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class MockNodeDriver(NodeDriver):
    """A libcloud ``NodeDriver`` whose cloud lives in the gateway's store.

    Args:
        key: the user name; only ``mockuser`` exists.
        secret: the password.
        store: the gateway's ``Store``.
        namespace: where this tenant's records live in the store.
    """

    type = "mock"
    name = "cimi-gateway mock cloud"
    website = "https://github.com/"

    def __init__(self, key: str, secret: str, *, store: Any, namespace: str) -> None:
        if (key, secret) != (USER, PASSWORD):
            raise InvalidCredsError("mock cloud: unknown user or wrong password")
        super().__init__(key, secret)
        self.store = store
        self.namespace = namespace
        self._seed()

    def _seed(self) -> None:
        if self.store.seeded_at(self.namespace) is not None:
            return
        created = _now()
        data = fixtures()
        items = [
            (IMAGE, image["id"], {**image, "created": created})
            for image in data["images"]
        ]
        items += [
            (MACHINE, machine["id"], {**machine, "created": created})
            for machine in data["machines"]
        ]
        self.store.seed_once(self.namespace, items)

    # -- images -------------------------------------------------------------

    def list_images(self, location: Any = None, ex_owner: Any = None) -> list:
        return [self._to_image(r) for r in self.store.list(self.namespace, IMAGE)]

    def get_image(self, image_id: str) -> NodeImage:
        record = self.store.get(self.namespace, IMAGE, image_id)
        if record is None:
            raise NotFound(f"mock cloud: no image {image_id}")
        return self._to_image(record)

    def create_image(
        self, node: Node, name: str | None, description: str | None = None
    ) -> NodeImage:
        if not node.extra.get("can_capture"):
            raise Conflict(f"mock cloud: machine {node.id} cannot be captured")
        # As Deltacloud's mock did, an image takes its name as its id when
        # the name makes a clean URL segment.
        image_id = (
            name if name and _SAFE_ID.match(name) else f"img-{uuid.uuid4().hex[:12]}"
        )
        record = {
            "id": image_id,
            "name": name or image_id,
            "description": description or "",
            "architecture": node.extra.get("architecture", ""),
            "owner": self.key,
            "status": "available",
            "created": _now(),
            "source_machine": node.id,
        }
        if not self.store.add(self.namespace, IMAGE, image_id, record):
            raise Conflict(f"mock cloud: an image named {image_id} exists already")
        return self._to_image(record)

    def delete_image(self, node_image: NodeImage) -> bool:
        if not self.store.remove(self.namespace, IMAGE, node_image.id):
            raise NotFound(f"mock cloud: no image {node_image.id}")
        return True

    def _to_image(self, record: dict) -> NodeImage:
        return NodeImage(record["id"], record["name"], self, extra=dict(record))

    # -- machines -----------------------------------------------------------

    def list_sizes(self, location: Any = None) -> list[NodeSize]:
        return [
            NodeSize(s["id"], s["name"], s["ram"], s["disk"], None, None, self, extra=s)
            for s in fixtures()["sizes"]
        ]

    def list_nodes(self, ex_node_ids: list[str] | None = None) -> list[Node]:
        records = self.store.list(self.namespace, MACHINE)
        nodes = [self._to_node(r) for r in records if r["owner"] == self.key]
        if ex_node_ids is not None:
            nodes = [n for n in nodes if n.id in ex_node_ids]
        return nodes

    def _to_node(self, record: dict) -> Node:
        sizes = {size.id: size for size in self.list_sizes()}
        size = sizes.get(record["size"])
        extra = {
            **record,
            "cpu": size.extra["cpu"] if size else None,
            "ram": record.get("ram") or (size.ram if size else None),
            "architecture": size.extra["architecture"] if size else None,
        }
        return Node(
            record["id"],
            record["name"],
            _NODE_STATE.get(record["status"], NodeState.UNKNOWN),
            [],
            [],
            self,
            size=size,
            extra=extra,
            created_at=datetime.fromisoformat(record["created"]),
        )


class MockProvider(LibcloudProvider):
    """The ``mock`` driver of the config: Deltacloud's mock cloud, persisted."""

    kind = "mock"
    SETTINGS = {
        "key": Setting(str, default=USER, help="the mock user, for static auth"),
        "secret": Setting(str, default=PASSWORD, help="its password"),
    }

    def make_driver(self, creds: Credentials) -> MockNodeDriver:
        return MockNodeDriver(
            creds.user, creds.secret, store=self.store, namespace=self.namespace(creds)
        )

    def check_credentials(self, creds: Credentials) -> None:
        self.driver(creds)

    def entry_point(self, creds: Credentials) -> dict:
        return {
            "name": "mock",
            "description": "Cloud Entry Point for the mock cloud",
            "created": self.store.seeded_at(self.namespace(creds)),
        }

    # -- mapping: the only reads of the mock's `extra` -----------------------

    def to_machine_image(self, image: NodeImage) -> dict:
        extra = image.extra
        return {
            "id": image.id,
            "name": image.name,
            "description": extra.get("description", ""),
            "created": datetime.fromisoformat(extra["created"]),
            "state": IMAGE_STATE.get(extra["status"], "ERROR"),
            "type": "IMAGE",
            "imageLocation": f"mock://{image.id}",
            "operations": (DELETE,),
        }

    def to_machine(self, node: Node) -> dict:
        extra = node.extra
        state = MACHINE_STATE.get(extra["status"], "ERROR")
        capturable = extra.get("can_capture") and state in ("STARTED", "STOPPED")
        return {
            "id": node.id,
            "name": node.name,
            "created": node.created_at,
            "state": state,
            "cpu": extra["cpu"],
            "memory": int(extra["ram"] * 1024) if extra["ram"] else None,
            "cpuArch": extra["architecture"],
            "operations": (CAPTURE,) if capturable else (),
        }
