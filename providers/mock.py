"""The embedded ``mock`` provider: Deltacloud's mock cloud, mapped to CIMI.

It makes ``cimi-gateway serve`` useful with no cloud account; the cloud itself
is ``mock_driver.MockNodeDriver``. This module holds the config settings and
the only reads of the mock's ``extra``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from libcloud.compute.base import KeyPair
from libcloud.compute.base import Node
from libcloud.compute.base import NodeDriver
from libcloud.compute.base import NodeImage
from libcloud.compute.base import NodeSize
from libcloud.compute.base import StorageVolume
from libcloud.compute.base import VolumeSnapshot

from gateway.cimi.errors import BadRequest
from gateway.cimi.errors import CimiError
from gateway.cimi.errors import NotFound
from gateway.cimi.errors import ProviderUnavailable
from providers.base import DELETE
from providers.base import DISASSOCIATE
from providers.base import EDIT
from providers.base import KIB_PER_GIB
from providers.base import Credentials
from providers.base import MachineSpec
from providers.base import Setting
from providers.base import VolumeSpec
from providers.base import machine_operations
from providers.families import ServesAddresses
from providers.families import ServesNetworks
from providers.families import machine_actions
from providers.libcloud_credentials import LibcloudCredentials
from providers.libcloud_provider import LibcloudProvider
from providers.libcloud_volumes import LibcloudVolumes
from providers.mock_driver import PASSWORD
from providers.mock_driver import USER
from providers.mock_driver import MockNodeDriver
from providers.mock_driver import fixtures
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
VOLUME_STATE = {
    "creating": "CREATING",
    "available": "AVAILABLE",
    "deleting": "DELETING",
}
SNAPSHOT_STATE = {"creating": "CREATING", "available": "AVAILABLE"}
ATTACHMENT_STATE = {
    "attaching": "ATTACHING",
    "attached": "ATTACHED",
    "detaching": "DETACHING",
}
# CIMI's initial states, to the status a new machine settles in.
INITIAL_STATUS = {"STARTED": "RUNNING", "STOPPED": "STOPPED"}


class MockProvider(
    LibcloudVolumes,
    LibcloudCredentials,
    ServesNetworks,
    ServesAddresses,
    LibcloudProvider,
):
    """The ``mock`` driver of the config: Deltacloud's mock cloud, persisted."""

    kind = "mock"
    initial_states = tuple(INITIAL_STATUS)
    max_volume_gib = 1024
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

    def translate(self, ex: Exception) -> CimiError | None:
        # The mock cloud's state is the gateway's store: a store that does
        # not answer is this cloud down for now, said without the database's
        # own words (its host, its port) that a client has no use for.
        if self.store.is_failure(ex):
            return ProviderUnavailable("the mock cloud's store does not answer")
        return None

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
        with self.calling(creds, "page_machine_images"):
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
        self.set_metadata_if(driver, node, values, None)

    def set_metadata_if(
        self,
        driver: NodeDriver,
        node: Node,
        values: dict,
        check: Callable[[dict], None] | None,
    ) -> None:
        # The mock writes by compare-and-swap: the check sees the very record
        # the edit lands on, so of two edits from one read one is refused
        # (checked a moment before, both could land: the write retries).
        driver.ex_set_metadata(
            node,
            name=values.get("name"),
            description=values.get("description"),
            properties=values.get("property"),
            ex_check=None if check is None else lambda now: check(self.to_machine(now)),
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

    # -- volumes: the only reads of the mock's volume `extra` ------------------

    def fetch_volume_configurations(self, driver: MockNodeDriver) -> list[dict]:
        return [
            {
                "id": kind["id"],
                "name": kind["name"],
                "description": kind["description"],
                "type": f"mock://{kind['id']}",
                "format": "raw",
                "capacity": kind["min_size"] * KIB_PER_GIB,
            }
            for kind in driver.ex_list_volume_types()
        ]

    def to_volume(self, volume: StorageVolume) -> dict:
        extra = volume.extra
        return {
            "id": volume.id,
            "name": volume.name,
            "description": extra.get("description", ""),
            "created": datetime.fromisoformat(extra["created"]),
            "property": dict(extra.get("property") or {}),
            "state": VOLUME_STATE.get(extra["status"], "ERROR"),
            "type": f"mock://{extra['type']}",
            "capacity": volume.size * KIB_PER_GIB,
            "bootable": False,
        }

    def attachment(self, volume: StorageVolume) -> dict | None:
        found = volume.extra.get("attachment")
        if not found:
            return None
        return {
            "machine": found["node"],
            "device": found["device"],
            "state": ATTACHMENT_STATE.get(found["status"], "ERROR"),
        }

    def to_volume_image(self, snapshot: VolumeSnapshot) -> dict:
        extra = snapshot.extra
        return {
            "id": snapshot.id,
            "name": snapshot.name,
            "description": extra.get("description", ""),
            "created": snapshot.created,
            "state": SNAPSHOT_STATE.get(extra["status"], "ERROR"),
            "imageLocation": extra["volume"],
            "bootable": False,
            # Not on the wire: what a volume restored from it needs at least.
            "capacity": snapshot.size * KIB_PER_GIB,
            "operations": (DELETE,),
        }

    def find_volume(self, driver: MockNodeDriver, volume_id: str) -> StorageVolume:
        return driver.ex_get_volume(volume_id)

    def find_snapshot(self, driver: MockNodeDriver, snapshot_id: str) -> VolumeSnapshot:
        return driver.ex_get_snapshot(snapshot_id)

    def create_storage_volume(
        self,
        driver: MockNodeDriver,
        spec: VolumeSpec,
        config: dict,
        snapshot: VolumeSnapshot | None,
    ) -> StorageVolume:
        return driver.create_volume(
            spec.capacity,
            spec.name,
            snapshot=snapshot,
            ex_volume_type=config["id"],
            ex_description=spec.description,
            ex_properties=dict(spec.properties),
        )

    def set_volume_metadata(
        self, driver: MockNodeDriver, volume: StorageVolume, values: dict
    ) -> None:
        driver.ex_set_volume_metadata(
            volume,
            name=values.get("name"),
            description=values.get("description"),
            properties=values.get("property"),
        )

    def create_snapshot(
        self, driver: MockNodeDriver, volume: StorageVolume, values: dict
    ) -> VolumeSnapshot:
        return driver.create_volume_snapshot(
            volume, values.get("name"), ex_description=values.get("description", "")
        )

    def find_key_pair(self, driver: MockNodeDriver, name: str) -> KeyPair:
        return driver.get_key_pair(name)

    def to_credential(self, pair: KeyPair) -> dict:
        return {
            **super().to_credential(pair),
            "created": datetime.fromisoformat(pair.extra["created"]),
        }

    # -- the network and its addresses ------------------------------------------

    def list_networks(self, creds: Credentials) -> list[dict]:
        driver = self.driver(creds)
        with self.calling(creds, "list_networks"):
            return [self._network(n) for n in driver.ex_list_networks()]

    def get_network(self, creds: Credentials, network_id: str) -> dict:
        for network in self.list_networks(creds):
            if network["id"] == network_id:
                return network
        raise NotFound(f"no network {network_id}")

    def list_addresses(self, creds: Credentials) -> list[dict]:
        driver = self.driver(creds)
        with self.calling(creds, "list_addresses"):
            return [self._address(a) for a in driver.ex_list_addresses()]

    def get_address(self, creds: Credentials, address_id: str) -> dict:
        driver = self.driver(creds)
        with self.calling(creds, "get_address"):
            return self._address(driver.ex_get_address(address_id))

    def allocate_address(self, creds: Credentials, values: dict) -> dict:
        driver = self.driver(creds)
        with self.calling(creds, "allocate_address"):
            return self._address(driver.ex_allocate_address())

    def release_address(self, creds: Credentials, address_id: str) -> None:
        driver = self.driver(creds)
        with self.calling(creds, "release_address"):
            driver.ex_release_address(address_id)

    def associate_address(
        self, creds: Credentials, address_id: str, machine_id: str
    ) -> dict:
        driver = self.driver(creds)
        with self.calling(creds, "associate_address"):
            node = self.find_node(driver, machine_id)
            return self._address(driver.ex_associate_address(address_id, node))

    def disassociate_address(self, creds: Credentials, address_id: str) -> dict:
        driver = self.driver(creds)
        with self.calling(creds, "disassociate_address"):
            return self._address(driver.ex_disassociate_address(address_id))

    @staticmethod
    def _network(network: dict) -> dict:
        return {
            "id": network["id"],
            "name": network["name"],
            "description": network["description"],
            "property": {"cidr": network["cidr"]},
            "state": "STARTED",
            "networkType": "PRIVATE",
            "mtu": network["mtu"],
        }

    @staticmethod
    def _address(record: dict) -> dict:
        network = fixtures()["networks"][0]
        return {
            "id": record["id"],
            "name": record["id"],
            "created": datetime.fromisoformat(record["created"]),
            "ip": record["ip"],
            "allocation": "static",
            "defaultGateway": network["gateway"],
            "protocol": "IPv4",
            "mask": "255.255.255.0",
            "network": network["id"],
            "resource": record["machine"],
            # Released only once it is off its machine.
            "operations": (EDIT,)
            + ((DISASSOCIATE,) if record["machine"] else (DELETE,)),
        }
