"""The embedded ``mock`` provider: Deltacloud's mock cloud, mapped to CIMI.

It makes ``cimi-gateway serve`` useful with no cloud account; the cloud itself
is ``mock_driver.MockNodeDriver``. This module holds the config settings and
the only reads of the mock's ``extra``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from libcloud.compute.base import Node
from libcloud.compute.base import NodeDriver
from libcloud.compute.base import NodeImage
from libcloud.compute.base import NodeSize

from gateway.cimi.errors import BadRequest
from providers.base import DELETE
from providers.base import Credentials
from providers.base import MachineSpec
from providers.base import Setting
from providers.base import machine_operations
from providers.families import machine_actions
from providers.libcloud_provider import LibcloudProvider
from providers.mock_driver import PASSWORD
from providers.mock_driver import USER
from providers.mock_driver import MockNodeDriver
from providers.mock_driver import utcnow

# The mock cloud's own status strings (Deltacloud's), as a real cloud has its own.
IMAGE_STATE = {"available": "AVAILABLE", "pending": "CREATING", "deleting": "DELETING"}
MACHINE_STATE = {
    "PENDING": "CREATING",
    "RUNNING": "STARTED",
    "STOPPING": "STOPPING",
    "STOPPED": "STOPPED",
    "STARTING": "STARTING",
    "REBOOTING": "STARTING",
    "SHUTTING_DOWN": "DELETING",
}
# CIMI's initial states, to the status a new machine settles in.
INITIAL_STATUS = {"STARTED": "RUNNING", "STOPPED": "STOPPED"}


class MockProvider(LibcloudProvider):
    """The ``mock`` driver of the config: Deltacloud's mock cloud, persisted."""

    kind = "mock"
    initial_states = tuple(INITIAL_STATUS)
    # Its listings are reads of the gateway's own store, shared by workers.
    caches_listings = False
    SETTINGS = {
        "key": Setting(str, default=USER, help="the mock user, for static auth"),
        "secret": Setting(str, default=PASSWORD, help="its password"),
        "delay": Setting(
            (int, float),
            default=2,
            help="seconds each change of a machine or image takes (0: instant)",
        ),
    }
    #: the mock cloud's clock; tests replace it to move time on.
    clock: Callable[[], datetime] = staticmethod(utcnow)

    def make_driver(self, creds: Credentials) -> MockNodeDriver:
        delay = self.setting("delay")
        return MockNodeDriver(
            creds.user,
            creds.secret,
            store=self.store,
            namespace=self.namespace(creds),
            delay=max(0, delay),
            clock=lambda: self.clock(),
        )

    def describe(self) -> dict:
        return {
            "name": "mock",
            "description": "Cloud Entry Point for the mock cloud",
        }

    def page_machine_images(
        self, creds: Credentials, page: slice
    ) -> tuple[list[dict], int]:
        driver = self.driver(creds)
        start = page.start or 0
        limit = None if page.stop is None else max(0, page.stop - start)
        with self.calling(creds):
            images, total = driver.ex_page_images(start, limit)
        return [self.to_machine_image(image) for image in images], total

    # -- calls: the mock's own keywords --------------------------------------

    def create_node(
        self, driver: NodeDriver, spec: MachineSpec, size: NodeSize, image: NodeImage
    ) -> Node:
        status = INITIAL_STATUS.get(spec.initial_state)
        if status is None:
            raise BadRequest(f"initialState {spec.initial_state!r}: not offered")
        return driver.create_node(
            spec.name,
            size,
            image,
            ex_description=spec.description,
            ex_properties=dict(spec.properties),
            ex_keyname=spec.key_name,
            ex_userdata=spec.user_data,
            ex_initial_state=status,
        )

    def set_metadata(self, driver: NodeDriver, node: Node, values: dict) -> None:
        driver.ex_set_metadata(
            node,
            name=values.get("name"),
            description=values.get("description"),
            properties=values.get("property"),
        )

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
        capturable = bool(extra.get("can_capture"))
        return {
            "id": node.id,
            "name": node.name,
            "description": extra.get("description", ""),
            "created": node.created_at,
            "property": dict(extra.get("property") or {}),
            "state": state,
            "cpu": extra["cpu"],
            "memory": int(extra["ram"] * 1024) if extra["ram"] else None,
            "cpuArch": extra["architecture"],
            "operations": machine_operations(
                state, capturable=capturable, offered=machine_actions(self)
            ),
        }

    def to_machine_configuration(self, size: NodeSize) -> dict:
        cpu, memory = size.extra["cpu"], int(size.ram * 1024)
        return {
            "id": size.id,
            "name": size.name,
            # Deltacloud's words, "1 CPU" and "4 CPU" alike.
            "description": f"Machine Configuration with {memory} KiB "
            f"of memory and {cpu} CPU",
            "cpu": cpu,
            "memory": memory,
            "disk": [{"capacity": size.disk * 1024 * 1024, "format": "unknown"}],
            "cpuArch": size.extra["architecture"],
        }
