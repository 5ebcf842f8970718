"""The ``openstack`` cloud: Nova for machines and flavors, Glance v2 for images.

libcloud's ``OpenStack_2_NodeDriver`` (``providers/openstack_driver.py``),
Keystone v3 password auth, Nova's default microversion (2.1: from 2.37 on
libcloud cannot create a server, and from 2.45 capture loses its image id).
A machine's CIMI name is the server's name; its description and properties
are server metadata (``description``, and every other key). One mount serves
one Keystone project, the config's ``project``: the Basic user name is the
Keystone user name as it is (user names may be e-mail addresses, so no
``user@project`` is read out of it); several projects are several mounts.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime

from libcloud.common.exceptions import BaseHTTPError
from libcloud.compute.base import KeyPair
from libcloud.compute.base import Node
from libcloud.compute.base import NodeImage
from libcloud.compute.base import NodeSize
from libcloud.compute.base import StorageVolume
from libcloud.compute.base import VolumeSnapshot
from libcloud.compute.types import KeyPairDoesNotExistError

from gateway.cimi.errors import BadRequest
from gateway.cimi.errors import CimiError
from gateway.cimi.errors import Conflict
from gateway.cimi.errors import Forbidden
from gateway.cimi.errors import NotFound
from gateway.cimi.errors import ProviderUnavailable
from gateway.cimi.errors import Unauthorized
from providers.base import DELETE
from providers.base import KIB_PER_GIB
from providers.base import PAUSE
from providers.base import RESTART
from providers.base import START
from providers.base import STOP
from providers.base import SUSPEND
from providers.base import Credentials
from providers.base import MachineSpec
from providers.base import Setting
from providers.base import VolumeSpec
from providers.base import aware_utc
from providers.base import check_endpoint
from providers.base import check_positive
from providers.base import decode_user_data
from providers.base import machine_operations
from providers.families import Narrowing
from providers.families import machine_actions
from providers.libcloud_credentials import LibcloudCredentials
from providers.libcloud_provider import LibcloudProvider
from providers.libcloud_provider import cloud_text
from providers.libcloud_volumes import LibcloudVolumes
from providers.openstack_driver import GatewayOpenStackNodeDriver

log = logging.getLogger("gateway.openstack")
_UUID = re.compile(r"[0-9a-fA-F]{8}-?(?:[0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}")

# Glance v2 image statuses to CIMI's; anything else is an ERROR.
IMAGE_STATE = {
    "queued": "CREATING",
    "saving": "CREATING",
    "uploading": "CREATING",
    "importing": "CREATING",
    "active": "AVAILABLE",
    "pending_delete": "DELETING",
    "deleted": "DELETING",
    "killed": "ERROR",
    "deactivated": "ERROR",
}
# Nova server statuses to CIMI's, our own table (libcloud maps several to
# UNKNOWN); anything else is an ERROR.
MACHINE_STATE = {
    "BUILD": "CREATING",
    "REBUILD": "CREATING",
    "ACTIVE": "STARTED",
    "SHUTOFF": "STOPPED",
    "SHELVED": "STOPPED",
    "SHELVED_OFFLOADED": "STOPPED",
    "PAUSED": "PAUSED",
    "SUSPENDED": "SUSPENDED",
    "REBOOT": "STARTING",
    "HARD_REBOOT": "STARTING",
    "RESIZE": "STARTING",
    "VERIFY_RESIZE": "STARTING",
    "REVERT_RESIZE": "STARTING",
    "MIGRATING": "STARTING",
    "PASSWORD": "STARTING",
    "RESCUE": "STARTING",
    "DELETED": "DELETING",
    "SOFT_DELETED": "DELETING",
    "ERROR": "ERROR",
}
# A task under way says where the server is going before its status does.
TASK_STATE = {
    "scheduling": "CREATING",
    "networking": "CREATING",
    "block_device_mapping": "CREATING",
    "spawning": "CREATING",
    "powering-off": "STOPPING",
    "powering-on": "STARTING",
    "rebooting": "STARTING",
    "reboot_pending": "STARTING",
    "reboot_started": "STARTING",
    "rebooting_hard": "STARTING",
    "reboot_pending_hard": "STARTING",
    "reboot_started_hard": "STARTING",
    "pausing": "PAUSING",
    "unpausing": "STARTING",
    "suspending": "SUSPENDING",
    "resuming": "STARTING",
    "deleting": "DELETING",
    "soft-deleting": "DELETING",
}
# Cinder's volume statuses to CIMI's: a volume being attached or detached is
# AVAILABLE (its MachineVolume says how far); anything else is an ERROR.
VOLUME_STATE = {
    "creating": "CREATING",
    "downloading": "CREATING",
    "restoring-backup": "CREATING",
    "available": "AVAILABLE",
    "reserved": "AVAILABLE",
    "attaching": "AVAILABLE",
    "in-use": "AVAILABLE",
    "detaching": "AVAILABLE",
    "extending": "AVAILABLE",
    "retyping": "AVAILABLE",
    "backing-up": "CAPTURING",
    "uploading": "CAPTURING",
    "deleting": "DELETING",
}
SNAPSHOT_STATE = {
    "creating": "CREATING",
    "available": "AVAILABLE",
    "backing-up": "AVAILABLE",
    "deleting": "DELETING",
}
#: the Cinder volume statuses a (forced) snapshot is taken in.
SNAPSHOTTABLE = frozenset({"available", "in-use"})
#: Nova's HTTP answers to our errors; others are the base's 502.
ERRORS: dict[int, type[CimiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: ProviderUnavailable,  # over quota
    429: ProviderUnavailable,
}
DESCRIPTION_KEY = "description"
#: the longest key or value Nova's server metadata takes.
METADATA_LIMIT = 255
#: the statuses Nova updates a server's metadata in (with no task running).
EDITABLE_STATUSES = frozenset({"ACTIVE", "SHUTOFF", "PAUSED", "SUSPENDED"})
#: a shelved server is started by unshelving it, and can do nothing else.
SHELVED = frozenset({"SHELVED", "SHELVED_OFFLOADED"})
#: how long a create asked to end STOPPED waits for Nova to build the server.
STOP_WAIT = 5.0
#: how long a volume image delete waits for Cinder to drop the snapshot.
DELETE_WAIT = 5.0
#: how long a project's flavors are kept: a machine read needs them for its
#: cpu and memory, and flavors change rarely.
FLAVOR_SECONDS = 300


def machine_state(status: str | None, task: str | None) -> str:
    """Return the CIMI state of a server of Nova ``status`` and ``task``."""
    return TASK_STATE.get(task or "") or MACHINE_STATE.get(status or "", "ERROR")


def metadata_properties(metadata: Mapping[str, str]) -> dict[str, str]:
    """Return the CIMI properties among a server's metadata, by key."""
    return {k: metadata[k] for k in sorted(metadata) if k != DESCRIPTION_KEY}


def property_metadata(properties: Mapping[str, str]) -> dict[str, str]:
    """Return the server metadata holding CIMI ``properties``.

    Raises:
        BadRequest: for the key the description lives in.
    """
    if DESCRIPTION_KEY in properties:
        raise BadRequest(f"property {DESCRIPTION_KEY!r}: reserved on OpenStack")
    return {key: str(value) for key, value in properties.items()}


def check_metadata(metadata: Mapping[str, str]) -> None:
    """Refuse what Nova's metadata cannot hold (255 characters a key or value).

    Raises:
        BadRequest: naming the attribute the item came from.
    """
    for key, value in metadata.items():
        attribute = "description" if key == DESCRIPTION_KEY else "property"
        if not key or len(key) > METADATA_LIMIT:
            raise BadRequest(f"{attribute}: a key of 1 to 255 characters here")
        if len(value) > METADATA_LIMIT:
            raise BadRequest(
                f"{attribute} {key!r}: at most 255 characters on OpenStack"
            )


class OpenStackProvider(LibcloudVolumes, LibcloudCredentials, LibcloudProvider):
    """The ``openstack`` driver of the config: one project of one cloud.

    Volumes are Cinder's (v3), key pairs Nova's. Networks and addresses need
    Neutron, which this provider does not speak yet: it does not serve them.
    """

    kind = "openstack"
    machine_actions = (START, STOP, RESTART, PAUSE, SUSPEND)
    initial_states = ("STARTED", "STOPPED")
    forces_stop = False
    STATIC_CREDENTIALS = ("username", "password")
    SETTINGS = {
        "auth_url": Setting(
            str,
            required=True,
            help="Keystone's URL, e.g. http://127.0.0.1:5000/v3",
            check=check_endpoint,
        ),
        "project": Setting(
            str, required=True, help="the Keystone project every call acts in"
        ),
        "domain": Setting(str, default="Default", help="the Keystone users' domain"),
        "project_domain_id": Setting(
            str, default="default", help="the id of the project's Keystone domain"
        ),
        "region": Setting(str, help="the catalog's region; needed when it has several"),
        "username": Setting(str, help="Keystone user, for static auth"),
        "password": Setting(str, help="its password, for static auth"),
        "timeout": Setting(
            (int, float),
            default=30,
            help="seconds one OpenStack call may take in all",
            check=check_positive,
        ),
    }

    def probe_url(self) -> str:
        return self.setting("auth_url")

    def make_driver(self, creds: Credentials) -> GatewayOpenStackNodeDriver:
        keystone = self.setting("auth_url").rstrip("/").removesuffix("/v3")
        region = self.setting("region")
        return GatewayOpenStackNodeDriver(
            creds.user,
            creds.secret,
            ex_force_auth_url=keystone,
            ex_force_auth_version="3.x_password",
            ex_tenant_name=self.setting("project"),
            ex_domain_name=self.setting("domain"),
            ex_tenant_domain_id=self.setting("project_domain_id"),
            api_version="2.0",
            timeout=self.setting("timeout"),
            **({"ex_force_service_region": region} if region else {}),
        )

    def call_timeout(self) -> float:
        return self.setting("timeout")

    def translate(self, ex: Exception) -> CimiError | None:
        if isinstance(ex, BaseHTTPError) and ex.code in ERRORS:
            return ERRORS[ex.code](cloud_text(ex))
        return None

    def verify(self, driver: GatewayOpenStackNodeDriver) -> None:
        # Keystone judges the password on the first call; flavors are small.
        driver.list_sizes()

    def describe(self) -> dict:
        return {
            "name": self.name,
            "description": f"OpenStack project {self.setting('project')}",
        }

    # -- mapping: the only reads of OpenStack's `extra` ------------------------

    def to_machine_image(self, image: NodeImage) -> dict:
        extra = image.extra or {}
        return {
            "id": image.id,
            "name": image.name or image.id,
            "description": extra.get("description") or "",
            "created": aware_utc(extra.get("created")),
            "state": IMAGE_STATE.get(extra.get("status") or "", "ERROR"),
            "type": "SNAPSHOT" if extra.get("image_type") == "snapshot" else "IMAGE",
            "imageLocation": f"glance://{image.id}",
            # Only this project's own images: an admin token could delete any.
            "operations": (DELETE,) if extra.get("own") else (),
        }

    def to_machine(self, node: Node) -> dict:
        extra = node.extra or {}
        task = extra.get("task_state")
        state = machine_state(_status(node), task)
        metadata = extra.get("metadata") or {}
        status = _status(node)
        # While a task runs (a snapshot, say) Nova refuses every other action.
        busy = task is not None and task not in TASK_STATE
        operations = machine_operations(
            "BUSY" if busy else state,
            # A shelved server is STOPPED that only an unshelve (start) or a
            # delete moves: no snapshot, no metadata.
            capturable=status not in SHELVED,
            editable=status in EDITABLE_STATUSES and task is None,
            offered=machine_actions(self),
        )
        size = extra.get("gateway_flavor")
        return {
            "id": node.id,
            "name": node.name or node.id,
            "description": metadata.get(DESCRIPTION_KEY, ""),
            "created": aware_utc(node.created_at or extra.get("created")),
            "property": metadata_properties(metadata),
            "state": state,
            "cpu": size.vcpus if size else None,
            "memory": size.ram * 1024 if size else None,
            "operations": operations,
        }

    def to_machine_configuration(self, size: NodeSize) -> dict:
        memory, cpu = size.ram * 1024, size.vcpus
        disks = [{"capacity": size.disk * 1024 * 1024}] if size.disk else []
        return {
            "id": size.id,
            "name": size.name,
            "description": f"Flavor {size.name}: {cpu} vCPU, {size.ram} MiB of "
            f"memory, {size.disk} GiB of disk",
            "cpu": cpu,
            "memory": memory,
            "disks": disks,
        }

    # -- how OpenStack finds things ---------------------------------------------

    def fetch_images(
        self, driver: GatewayOpenStackNodeDriver, narrow: Narrowing | None = None
    ) -> list[NodeImage]:
        # An admin token lists other projects' private images too.
        return [image for image in driver.list_images() if _visible(image)]

    def fetch_nodes(
        self, driver: GatewayOpenStackNodeDriver, narrow: Narrowing | None = None
    ) -> list[Node]:
        nodes = driver.list_nodes()
        flavors = self._flavor_map(driver)
        if any(n.extra.get("flavorId") not in flavors for n in nodes):
            driver.flavors = None  # a flavor made since they were read
            flavors = self._flavor_map(driver)
        for node in nodes:
            self._describe(node, flavors)
        return nodes

    def find_node(self, driver: GatewayOpenStackNodeDriver, machine_id: str) -> Node:
        # Nova's ids are UUIDs; another path segment (``detail``) is no server.
        if not _UUID.fullmatch(machine_id):
            raise NotFound(f"no machine {machine_id}")
        node = driver.ex_get_node_details(machine_id)  # None: Nova has none
        # Nova shows a deleted server to an admin for a while, and an admin
        # token reads any project's: for this mount's client they are not.
        if (
            node is None
            or not self.is_listed(node)
            or node.extra.get("tenantId") != driver.project_id
        ):
            raise NotFound(f"no machine {machine_id}")
        self._describe(node, self._flavor_map(driver))
        return node

    def find_image(
        self, driver: GatewayOpenStackNodeDriver, image_id: str
    ) -> NodeImage:
        if not _UUID.fullmatch(image_id):
            raise NotFound(f"no machine image {image_id}")
        image = driver.get_image(image_id)
        if not _visible(image):
            raise NotFound(f"no machine image {image_id}")
        return image

    def delete_machine_image(self, creds: Credentials, image_id: str) -> None:
        driver = self.driver(creds)
        with self.calling(creds, "delete_machine_image"):
            image = self.find_image(driver, image_id)
            if not image.extra.get("own"):
                raise Forbidden(f"machine image {image_id} is not this project's")
            driver.delete_image(image)

    def is_listed(self, node: Node) -> bool:
        return _status(node) not in ("DELETED", "SOFT_DELETED")

    def fetch_sizes(self, driver: GatewayOpenStackNodeDriver) -> list[NodeSize]:
        return list(self._flavor_map(driver).values())

    def _flavor_map(self, driver: GatewayOpenStackNodeDriver) -> dict[str, NodeSize]:
        # The driver is this thread's for these credentials: the flavors its
        # project sees (private ones included) are kept on it.
        now = time.monotonic()
        if driver.flavors is None or driver.flavors[0] < now:
            sizes = {size.id: size for size in driver.list_sizes()}
            driver.flavors = (now + FLAVOR_SECONDS, sizes)
        return driver.flavors[1]

    def _describe(self, node: Node, flavors: Mapping[str, NodeSize]) -> None:
        """Put what the mapping reads of the node's flavor into its extra."""
        flavor_id = (node.extra or {}).get("flavorId")
        node.extra["gateway_flavor"] = flavors.get(flavor_id)

    def _size(self, driver: GatewayOpenStackNodeDriver, config_id: str) -> NodeSize:
        flavors = self._flavor_map(driver)
        if config_id not in flavors:
            # A flavor made since they were read: read them again, once.
            driver.flavors = None
            flavors = self._flavor_map(driver)
        if config_id not in flavors:
            raise NotFound(f"no machine configuration {config_id}")
        return flavors[config_id]

    # -- machines ------------------------------------------------------------

    def create_node(
        self,
        driver: GatewayOpenStackNodeDriver,
        spec: MachineSpec,
        size: NodeSize,
        image: NodeImage,
    ) -> Node:
        if spec.initial_state not in self.initial_states:
            raise BadRequest(f"initialState {spec.initial_state!r}: not offered")
        metadata = property_metadata(spec.properties)
        if spec.description:
            metadata[DESCRIPTION_KEY] = spec.description
        check_metadata(metadata)
        user_data = decode_user_data(spec.user_data)
        node = driver.create_node(
            name=spec.name or f"cimi-{int(time.time())}",
            size=size,
            image=image,
            ex_metadata=metadata,
            ex_keyname=spec.key_name or None,
            # Bytes as they are: libcloud encodes them in Base64 for Nova.
            ex_userdata=user_data or None,
        )
        node = self.find_node(driver, node.id)
        if spec.initial_state == "STOPPED":
            node = self._stop_when_built(driver, node)
        return node

    def _stop_when_built(self, driver: GatewayOpenStackNodeDriver, node: Node) -> Node:
        """Stop a new server once Nova has built it, waiting a few seconds.

        NOTE: Nova has no "create stopped" and refuses to stop a server still
        building. A build longer than ``STOP_WAIT`` leaves the machine running
        (logged; the client sees STARTED), as on EC2, rather than holding the
        request for a slow cloud's minute.
        """
        deadline = time.monotonic() + STOP_WAIT
        while _status(node) == "BUILD" and time.monotonic() < deadline:
            time.sleep(0.25)
            node = self.find_node(driver, node.id)
        if _status(node) == "ACTIVE" and not node.extra.get("task_state"):
            driver.ex_stop_node(node)
            return self.find_node(driver, node.id)
        log.warning("%s is %s: not stopped", node.id, _status(node))
        return node

    def set_metadata(
        self, driver: GatewayOpenStackNodeDriver, node: Node, values: dict
    ) -> None:
        # The metadata first, checked, the name last: a refused edit renames
        # nothing.
        if "description" in values or "property" in values:
            driver.ex_set_metadata(node, self._edited_metadata(node, values))
        if values.get("name"):
            driver.ex_set_server_name(node, values["name"])

    def _edited_metadata(self, node: Node, values: dict) -> dict[str, str]:
        metadata = dict(node.extra.get("metadata") or {})
        if "property" in values:  # the whole set: what is not given goes
            kept = metadata.get(DESCRIPTION_KEY)
            metadata = property_metadata(values["property"] or {})
            if kept:
                metadata[DESCRIPTION_KEY] = kept
        if "description" in values:
            if values["description"]:
                metadata[DESCRIPTION_KEY] = values["description"]
            else:
                metadata.pop(DESCRIPTION_KEY, None)
        check_metadata(metadata)
        return metadata

    def start_node(self, driver: GatewayOpenStackNodeDriver, node: Node) -> None:
        # Starting means what gets the server running from where it is.
        status = _status(node)
        if status in SHELVED:
            driver.ex_unshelve_node(node)
        elif status == "PAUSED":
            driver.ex_unpause_node(node)
        elif status == "SUSPENDED":
            driver.ex_resume_node(node)
        else:
            driver.ex_start_node(node)

    def stop_node(
        self, driver: GatewayOpenStackNodeDriver, node: Node, force: bool
    ) -> None:
        driver.ex_stop_node(node)

    def reboot_node(
        self, driver: GatewayOpenStackNodeDriver, node: Node, force: bool
    ) -> None:
        # A forced restart is Nova's HARD reboot (a power cycle).
        if force:
            driver.reboot_node(node)
        else:
            driver.ex_soft_reboot_node(node)

    def pause_node(self, driver: GatewayOpenStackNodeDriver, node: Node) -> None:
        driver.ex_pause_node(node)

    def suspend_node(self, driver: GatewayOpenStackNodeDriver, node: Node) -> None:
        driver.ex_suspend_node(node)

    def create_image(
        self, driver: GatewayOpenStackNodeDriver, node: Node, values: dict
    ) -> NodeImage:
        stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
        name = values.get("name") or f"{node.name or node.id}-{stamp}"
        metadata = {}
        if values.get("description"):
            metadata[DESCRIPTION_KEY] = values["description"]
        # Nova's createImage; libcloud reads the new image back from Glance.
        return driver.create_image(node, name, metadata=metadata or None)

    # -- volumes: Cinder v3; the only reads of its `extra` ------------------------

    def fetch_volume_configurations(
        self, driver: GatewayOpenStackNodeDriver
    ) -> list[dict]:
        return [
            {
                "id": kind["id"],
                "name": kind["name"],
                "description": kind.get("description") or f"Cinder {kind['name']}",
                "type": f"cinder://{kind['name']}",
                "format": "raw",
                "capacity": KIB_PER_GIB,
            }
            for kind in driver.ex_list_volume_types()
        ]

    def to_volume(self, volume: StorageVolume) -> dict:
        extra = volume.extra or {}
        metadata = extra.get("metadata") or {}
        return {
            "id": volume.id,
            "name": volume.name or volume.id,
            "description": extra.get("description") or "",
            "created": aware_utc(extra.get("created_at")),
            "property": {k: metadata[k] for k in sorted(metadata)},
            "state": VOLUME_STATE.get(extra.get("state") or "", "ERROR"),
            "type": f"cinder://{extra.get('volume_type') or ''}",
            "capacity": volume.size * KIB_PER_GIB,
            "bootable": False,
        }

    def attachment(self, volume: StorageVolume) -> dict | None:
        extra = volume.extra or {}
        found = [a for a in extra.get("attachments") or [] if a]
        if not found:
            return None
        status = extra.get("state")
        if status == "detaching":
            state = "DETACHING"
        elif status == "in-use" and not found[0].get("pending"):
            state = "ATTACHED"
        else:
            state = "ATTACHING"
        return {
            "machine": found[0].get("server_id") or found[0].get("serverId"),
            "device": found[0].get("device") or "",
            "state": state,
        }

    def to_volume_image(self, snapshot: VolumeSnapshot) -> dict:
        extra = snapshot.extra or {}
        return {
            "id": snapshot.id,
            "name": snapshot.name or snapshot.id,
            "description": extra.get("description") or "",
            "created": aware_utc(snapshot.created),
            "state": SNAPSHOT_STATE.get(extra.get("status") or "", "ERROR"),
            "imageLocation": extra.get("volume_id") or "",
            "bootable": False,
            "capacity": snapshot.size * KIB_PER_GIB,
            "operations": (DELETE,),
        }

    def fetch_volumes(
        self, driver: GatewayOpenStackNodeDriver, narrow: Narrowing | None = None
    ) -> list[StorageVolume]:
        return [v for v in driver.list_volumes() if _own(driver, v.extra)]

    def find_volume(
        self, driver: GatewayOpenStackNodeDriver, volume_id: str
    ) -> StorageVolume:
        if not _UUID.fullmatch(volume_id):
            raise NotFound(f"no volume {volume_id}")
        volume = driver.ex_get_volume(volume_id)
        if not _own(driver, volume.extra):
            raise NotFound(f"no volume {volume_id}")
        return volume

    def fetch_snapshots(
        self, driver: GatewayOpenStackNodeDriver, narrow: Narrowing | None = None
    ) -> list[VolumeSnapshot]:
        return [s for s in driver.ex_list_snapshots() if _own(driver, s.extra)]

    def find_snapshot(
        self, driver: GatewayOpenStackNodeDriver, snapshot_id: str
    ) -> VolumeSnapshot:
        if not _UUID.fullmatch(snapshot_id):
            raise NotFound(f"no volume image {snapshot_id}")
        # Read from Cinder (the driver's): an admin token reads another
        # project's snapshot by id, and only Cinder's answer says whose it is.
        snapshot = driver.ex_get_snapshot(snapshot_id)
        if not _own(driver, snapshot.extra):
            raise NotFound(f"no volume image {snapshot_id}")
        return snapshot

    def create_storage_volume(
        self,
        driver: GatewayOpenStackNodeDriver,
        spec: VolumeSpec,
        config: dict,
        snapshot: VolumeSnapshot | None,
    ) -> StorageVolume:
        metadata = {key: str(value) for key, value in spec.properties.items()}
        check_metadata(metadata)
        return driver.ex_create_volume(
            spec.capacity,
            name=spec.name,
            description=spec.description,
            metadata=metadata,
            volume_type=config["id"],
            snapshot_id=snapshot.id if snapshot else None,
        )

    def set_volume_metadata(
        self, driver: GatewayOpenStackNodeDriver, volume: StorageVolume, values: dict
    ) -> None:
        metadata = None
        if "property" in values:
            metadata = {k: str(v) for k, v in (values["property"] or {}).items()}
            check_metadata(metadata)
        changes = {
            name: values[name] or None
            for name in ("name", "description")
            if name in values
        }
        driver.ex_update_volume(volume, values=changes, metadata=metadata)

    def create_snapshot(
        self, driver: GatewayOpenStackNodeDriver, volume: StorageVolume, values: dict
    ) -> VolumeSnapshot:
        # Cinder snapshots an in-use volume when forced (as EC2 snapshots an
        # attached one), and no volume in another status even then.
        status = (volume.extra or {}).get("state")
        if status not in SNAPSHOTTABLE:
            raise Conflict(f"volume {volume.id} is {status}: it cannot be captured now")
        return driver.create_volume_snapshot(
            volume,
            values.get("name"),
            ex_description=values.get("description") or None,
            ex_force=True,
        )

    def delete_volume_image(self, creds: Credentials, image_id: str) -> None:
        driver = self.driver(creds)
        with self.calling(creds, "delete_volume_image"):
            snapshot = self.find_snapshot(driver, image_id)
            driver.destroy_volume_snapshot(snapshot)
            self._gone_when_deleted(driver, snapshot.id)

    def _gone_when_deleted(
        self, driver: GatewayOpenStackNodeDriver, snapshot_id: str
    ) -> None:
        """Wait a few seconds for Cinder to drop a snapshot it is deleting.

        NOTE: Cinder deletes in the background; the delete is answered as
        done, so the image should read as gone. One Cinder takes longer than
        ``DELETE_WAIT`` over is answered all the same, and reads DELETING.
        """
        deadline = time.monotonic() + DELETE_WAIT
        while True:
            try:
                snapshot = driver.ex_get_snapshot(snapshot_id)
            except BaseHTTPError as ex:
                if ex.code == 404:
                    return
                raise
            status = snapshot.extra.get("status")
            if status != "deleting" or time.monotonic() >= deadline:
                log.warning("snapshot %s is still %s", snapshot_id, status)
                return
            time.sleep(0.2)

    def destroy_volume(
        self, driver: GatewayOpenStackNodeDriver, volume: StorageVolume
    ) -> None:
        # Cinder refuses to delete a volume that has snapshots, with a 400
        # that names six reasons: say the one that holds.
        if any(
            s.extra.get("volume_id") == volume.id for s in driver.ex_list_snapshots()
        ):
            raise Conflict(f"volume {volume.id} has volume images: delete them first")
        driver.destroy_volume(volume)

    def detach(
        self, driver: GatewayOpenStackNodeDriver, node: Node, volume: StorageVolume
    ) -> None:
        driver.detach_volume(volume, ex_node=node)

    # -- key pairs: Nova's ------------------------------------------------------

    def find_key_pair(self, driver: GatewayOpenStackNodeDriver, name: str) -> KeyPair:
        try:
            return driver.get_key_pair(name)
        except KeyPairDoesNotExistError as ex:
            raise NotFound(f"no credential {name}") from ex


def _visible(image: NodeImage) -> bool:
    """Tell whether this project may see ``image``: not another's private one
    (which an admin token reads)."""
    return image.extra.get("visibility") != "private" or bool(image.extra.get("own"))


def _status(node: Node) -> str:
    """Nova's own status of a node (libcloud keeps only its mapped state)."""
    return (node.extra or {}).get("nova_status") or ""


def _own(driver: GatewayOpenStackNodeDriver, extra: Mapping | None) -> bool:
    """Tell whether a volume or snapshot is this project's: an admin token
    reads other projects' by id (the driver marks them)."""
    return bool((extra or {}).get("own"))
