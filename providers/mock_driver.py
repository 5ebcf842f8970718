"""The ``mock`` cloud itself: a libcloud ``NodeDriver`` over the gateway's store.

It starts with Deltacloud's mock fixtures (images img1..img3, machines
inst0..inst3, sizes m1-small, m1-large, m1-xlarge), keeps every change in the
store, so a restart loses nothing, and accepts only ``mockuser``/
``mockpassword``, as Deltacloud's mock did.

Time passes as on a real cloud. A change writes the record's new status with
a pending transition, ``{"next": status, "at": time}``: a machine being
stopped is STOPPING, and STOPPED once ``delay`` seconds have gone by. Reads
never write: they compute what a record has become by now (``settle``), so
readers in several workers cannot undo each other's changes. A destroyed
machine's transition has ``next`` None: from then on it is gone, and its record
stays behind as a tombstone, so its id never names a new machine.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from functools import cache
from importlib import resources
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from libcloud.common.types import InvalidCredsError
from libcloud.common.types import LibcloudError
from libcloud.compute.base import KeyPair
from libcloud.compute.base import Node
from libcloud.compute.base import NodeDriver
from libcloud.compute.base import NodeImage
from libcloud.compute.base import NodeSize
from libcloud.compute.base import StorageVolume
from libcloud.compute.base import VolumeSnapshot
from libcloud.compute.types import NodeState
from libcloud.compute.types import StorageVolumeState
from libcloud.compute.types import VolumeSnapshotState

from gateway.cimi.errors import Conflict
from gateway.cimi.errors import NotFound
from providers.keys import fingerprint

USER, PASSWORD = "mockuser", "mockpassword"
IMAGE, MACHINE = "image", "machine"
VOLUME, SNAPSHOT = "volume", "snapshot"
KEY = "key"
ADDRESS = "address"
#: the store kind the gateway keeps system templates under (system_templates.py).
SYSTEM_TEMPLATE = "system_template"
#: the mock's one network hands out these addresses.
_ADDRESS_POOL = [f"192.168.0.{n}" for n in range(1, 254)]

# An image id must be usable as one URL path segment as it is.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._~-]{1,128}$")
# How many taken machine ids a create steps over before it gives up.
_MAX_ID_TRIES = 64
# How many times a write re-reads a record another writer changed first.
_MAX_WRITE_TRIES = 16


@cache
def fixtures() -> dict[str, Any]:
    """Return the seed data shipped with the package."""
    text = resources.files("providers").joinpath("mock_fixtures.json").read_text()
    return json.loads(text)


def utcnow() -> datetime:
    """Return the time now, in UTC: the mock cloud's clock unless replaced."""
    return datetime.now(UTC)


def settle(record: dict | None, now: datetime) -> dict | None:
    """Return ``record`` as it stands at ``now``; None once it is gone.

    A transition may also ``set`` other values when it is due (a volume's
    attachment going from attaching to attached).
    """
    transition = record and record.get("transition")
    if not transition or datetime.fromisoformat(transition["at"]) > now:
        return record
    if transition["next"] is None:
        return None
    return {
        **record,
        **transition.get("set", {}),
        "status": transition["next"],
        "transition": None,
    }


def _attached_to(volume: dict, node_id: str) -> bool:
    """Tell whether a volume record is attached (or attaching) to a node."""
    return (volume.get("attachment") or {}).get("node") == node_id


def _unattached(volume: dict) -> None:
    """Refuse a change (an attach, a delete) to a volume in use."""
    if where := volume.get("attachment"):
        node = where["node"]
        raise Conflict(f"mock cloud: volume {volume['id']} in use, attached to {node}")


class _Elsewhere(Exception):
    """The volume is no longer on the machine being freed of it."""


class MockNodeDriver(NodeDriver):
    """A libcloud ``NodeDriver`` whose cloud lives in the gateway's store.

    Args:
        key: the user name; only ``mockuser`` exists.
        secret: the password.
        store: the gateway's ``Store``.
        namespace: where this tenant's records live in the store.
        delay: the seconds each change of state takes; 0 makes it instant.
        clock: returns the time now, as an aware datetime.
    """

    type = "mock"
    name = "cimi-gateway mock cloud"
    website = "https://github.com/"

    def __init__(
        self,
        key: str,
        secret: str,
        *,
        store: Any,
        namespace: str,
        delay: float = 0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if (key, secret) != (USER, PASSWORD):
            raise InvalidCredsError("mock cloud: unknown user or wrong password")
        super().__init__(key, secret)
        self.store = store
        self.namespace = namespace
        self.delay = timedelta(seconds=delay)
        self.clock = clock
        self._size_map: dict[str, NodeSize] | None = None
        self._seed()

    def _seed(self) -> None:
        if self.store.seeded_at(self.namespace) is not None:
            return
        created, data = self._stamp(), fixtures()
        items = [
            (kind, record["id"], {**record, "created": created})
            for kind, key in (
                (IMAGE, "images"),
                (MACHINE, "machines"),
                (VOLUME, "volumes"),
                (SNAPSHOT, "snapshots"),
                (ADDRESS, "addresses"),
            )
            for record in data[key]
        ]
        items += [
            (KEY, pair["name"], {**pair, "created": created}) for pair in data["keys"]
        ]
        # NOTE(gw): a gateway record, not the cloud's: the demo system
        # template Deltacloud's mock shipped, so `serve` shows systems at
        # once. Kept as the gateway keeps templates (system_templates.py).
        items += [
            (
                SYSTEM_TEMPLATE,
                template["id"],
                {**template, "created": created, "updated": created},
            )
            for template in data["system_templates"]
        ]
        self.store.seed_once(self.namespace, items)

    # -- records and time ---------------------------------------------------

    def _stamp(self) -> str:
        return self.clock().replace(microsecond=0).isoformat()

    def _after_delay(self, status: str, next_status: str | None) -> dict:
        """Return the values of a change now under way to ``next_status``."""
        at = (self.clock() + self.delay).isoformat()
        return {"status": status, "transition": {"next": next_status, "at": at}}

    def _records(self, kind: str, ids: list[str] | None = None) -> list[dict]:
        """Return the records of ``kind`` (those of ``ids``) that exist now."""
        if ids is None:
            found = self.store.list(self.namespace, kind)
        else:
            found = [self.store.get(self.namespace, kind, i) for i in ids]
        now = self.clock()
        return [r for r in (settle(r, now) for r in found) if r is not None]

    def _record(self, kind: str, record_id: str) -> dict:
        for record in self._records(kind, [record_id]):
            return record
        raise NotFound(f"mock cloud: no {kind} {record_id}")

    def _update(
        self,
        node: Node,
        values: dict,
        *allowed: str,
        check: Callable[[Node], None] | None = None,
    ) -> bool:
        """Write ``values`` into a node, if its status is one of ``allowed``.

        The record written is the node as it stands now, so a transition that
        is due is kept; with no ``allowed``, any status will do. Two writers at
        once (an edit and a stop, in two workers) never undo each other: the
        write only lands on the record it read, else it reads again.
        ``check`` sees the node each try is about to write over, and raises
        to refuse the change.
        """
        for _ in range(_MAX_WRITE_TRIES):
            stored = self.store.get(self.namespace, MACHINE, node.id)
            record = settle(stored, self.clock())
            if record is None:
                raise NotFound(f"mock cloud: no machine {node.id}")
            if allowed and record["status"] not in allowed:
                raise Conflict(f"mock cloud: machine {node.id} is {record['status']}")
            if check is not None:
                check(self._to_node(record))
            if self.store.replace(
                self.namespace, MACHINE, node.id, record | values, expected=stored
            ):
                return True
        raise Conflict(f"mock cloud: machine {node.id} keeps changing; try again")

    # -- images -------------------------------------------------------------

    def list_images(self, location: Any = None, ex_owner: Any = None) -> list:
        return [self._to_image(r) for r in self._records(IMAGE)]

    def ex_page_images(
        self, offset: int, limit: int | None
    ) -> tuple[list[NodeImage], int]:
        """Return one page of the images (oldest first) and how many there are.

        Images have no tombstones (a deleted one's record goes), so the store
        can count and page them itself.
        """
        records, total = self.store.page(self.namespace, IMAGE, offset, limit)
        now = self.clock()
        return [self._to_image(settle(r, now)) for r in records], total

    def get_image(self, image_id: str) -> NodeImage:
        return self._to_image(self._record(IMAGE, image_id))

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
            "created": self._stamp(),
            "source_machine": node.id,
            **self._after_delay("pending", "available"),
        }
        if not self.store.add(self.namespace, IMAGE, image_id, record):
            raise Conflict(f"mock cloud: an image named {image_id} exists already")
        return self._to_image(settle(record, self.clock()))

    def delete_image(self, node_image: NodeImage) -> bool:
        if not self.store.remove(self.namespace, IMAGE, node_image.id):
            raise NotFound(f"mock cloud: no image {node_image.id}")
        return True

    def _to_image(self, record: dict) -> NodeImage:
        return NodeImage(record["id"], record["name"], self, extra=dict(record))

    # -- sizes and machines -------------------------------------------------

    def list_sizes(self, location: Any = None) -> list[NodeSize]:
        return list(self._sizes().values())

    def _sizes(self) -> dict[str, NodeSize]:
        # PERF(gw): the sizes are fixtures: built once per driver, not per node.
        if self._size_map is None:
            self._size_map = {
                s["id"]: NodeSize(
                    s["id"], s["name"], s["ram"], s["disk"], None, None, self, extra=s
                )
                for s in fixtures()["sizes"]
            }
        return self._size_map

    def list_nodes(self, ex_node_ids: list[str] | None = None) -> list[Node]:
        records = self._records(MACHINE, ex_node_ids)
        return [self._to_node(r) for r in records if r["owner"] == self.key]

    def create_node(
        self,
        name: str,
        size: NodeSize,
        image: NodeImage,
        location: Any = None,
        auth: Any = None,
        *,
        ex_description: str = "",
        ex_properties: dict[str, str] | None = None,
        ex_keyname: str = "",
        ex_userdata: str = "",
        ex_initial_state: str = "RUNNING",
    ) -> Node:
        """Make a node, PENDING until it settles in ``ex_initial_state``.

        Its id is the first ``instN`` never used here: when another worker
        takes that one first, the next is tried.
        """
        record = {
            "name": name,
            "description": ex_description,
            "property": dict(ex_properties or {}),
            "size": size.id,
            "image": image.id,
            "realm": "us",
            "owner": self.key,
            "can_capture": True,
            "key_name": ex_keyname,
            "user_data": ex_userdata,
            "created": self._stamp(),
            **self._after_delay("PENDING", ex_initial_state),
        }
        used = {r["id"] for r in self.store.list(self.namespace, MACHINE)}
        free = (f"inst{n}" for n in itertools.count() if f"inst{n}" not in used)
        for node_id in itertools.islice(free, _MAX_ID_TRIES):
            record["id"] = node_id
            if self.store.add(self.namespace, MACHINE, node_id, record):
                return self._to_node(settle(record, self.clock()))
        raise LibcloudError("mock cloud: no free machine id, try again", driver=self)

    def start_node(self, node: Node) -> bool:
        return self._update(node, self._after_delay("STARTING", "RUNNING"), "STOPPED")

    def stop_node(self, node: Node) -> bool:
        return self._update(node, self._after_delay("STOPPING", "STOPPED"), "RUNNING")

    def reboot_node(self, node: Node) -> bool:
        return self._update(node, self._after_delay("REBOOTING", "RUNNING"), "RUNNING")

    def destroy_node(self, node: Node) -> bool:
        if self._record(MACHINE, node.id)["status"] == "SHUTTING_DOWN":
            return True  # already going: asking again does not put it off
        self._update(node, self._after_delay("SHUTTING_DOWN", None))
        # As on EC2, a machine's volumes are detached when it goes.
        for volume in self._records(VOLUME):
            if _attached_to(volume, node.id):
                self._release(volume["id"], node.id)
        return True

    def _release(self, volume_id: str, node_id: str) -> None:
        """Detach a volume from a machine that is going, at once.

        An attach or detach under way goes too: when due, its ``set`` would
        attach the volume to a machine that is no more, for good.
        """

        def still_on_node(record: dict) -> None:
            if not _attached_to(record, node_id):
                raise _Elsewhere

        # Detached (or gone) meanwhile: nothing of this machine's is left to free.
        with contextlib.suppress(_Elsewhere, NotFound):
            self._write(
                VOLUME,
                volume_id,
                {"attachment": None, "transition": None},
                check=still_on_node,
            )

    def ex_set_metadata(
        self,
        node: Node,
        name: str | None = None,
        description: str | None = None,
        properties: dict[str, str] | None = None,
        ex_check: Callable[[Node], None] | None = None,
    ) -> bool:
        """Set what is given of a node's name, description and properties,
        if ``ex_check`` passes on the node as it is written over."""
        changes = {"name": name, "description": description, "property": properties}
        return self._update(
            node, {k: v for k, v in changes.items() if v is not None}, check=ex_check
        )

    # -- volumes and their snapshots ------------------------------------------

    def _write(
        self,
        kind: str,
        record_id: str,
        values: dict,
        *allowed: str,
        check: Callable[[dict], None] | None = None,
    ) -> dict:
        """Write ``values`` into a volume or snapshot record, as ``_update``.

        ``check`` sees the record each try is about to replace and raises to
        refuse the change: a check made before ``_write`` can be overtaken by
        another writer, one made here cannot.
        """
        for _ in range(_MAX_WRITE_TRIES):
            stored = self.store.get(self.namespace, kind, record_id)
            record = settle(stored, self.clock())
            if record is None:
                raise NotFound(f"mock cloud: no {kind} {record_id}")
            if allowed and record["status"] not in allowed:
                raise Conflict(f"mock cloud: {kind} {record_id} is {record['status']}")
            if check is not None:
                check(record)
            if self.store.replace(
                self.namespace, kind, record_id, record | values, expected=stored
            ):
                return record | values
        raise Conflict(f"mock cloud: {kind} {record_id} keeps changing; try again")

    def ex_list_volume_types(self) -> list[dict]:
        """Return the mock's volume types (fixtures)."""
        return [dict(t) for t in fixtures()["volume_types"]]

    def list_volumes(self) -> list[StorageVolume]:
        return [self._to_volume(r) for r in self._records(VOLUME)]

    def ex_get_volume(self, volume_id: str) -> StorageVolume:
        return self._to_volume(self._record(VOLUME, volume_id))

    def create_volume(
        self,
        size: int,
        name: str,
        location: Any = None,
        snapshot: VolumeSnapshot | None = None,
        *,
        ex_volume_type: str = "standard",
        ex_description: str = "",
        ex_properties: dict[str, str] | None = None,
    ) -> StorageVolume:
        volume_id = f"vol-{uuid.uuid4().hex[:12]}"
        record = {
            "id": volume_id,
            "name": name or volume_id,
            "description": ex_description,
            "property": dict(ex_properties or {}),
            "size": size,
            "type": ex_volume_type,
            "snapshot": snapshot.id if snapshot else "",
            "attachment": None,
            "created": self._stamp(),
            **self._after_delay("creating", "available"),
        }
        self.store.add(self.namespace, VOLUME, volume_id, record)
        return self._to_volume(settle(record, self.clock()))

    def destroy_volume(self, volume: StorageVolume) -> bool:
        if self._record(VOLUME, volume.id)["status"] == "deleting":
            return True
        self._write(
            VOLUME, volume.id, self._after_delay("deleting", None), check=_unattached
        )
        return True

    def attach_volume(
        self, node: Node, volume: StorageVolume, device: str | None = None
    ) -> bool:
        machine = self._record(MACHINE, node.id)
        if machine["status"] not in ("RUNNING", "STOPPED"):
            raise Conflict(f"mock cloud: machine {node.id} is {machine['status']}")
        attachment = {"node": node.id, "device": device or "/dev/sdf"}
        # Only an available volume is written to, so it stays available.
        change = self._after_delay("available", "available")
        change["transition"]["set"] = {
            "attachment": {**attachment, "status": "attached"}
        }
        self._write(
            VOLUME,
            volume.id,
            {**change, "attachment": {**attachment, "status": "attaching"}},
            "available",
            check=_unattached,
        )
        return True

    def detach_volume(self, volume: StorageVolume) -> bool:
        record = self._record(VOLUME, volume.id)
        attachment = record.get("attachment")
        if not attachment:
            raise NotFound(f"mock cloud: volume {volume.id} is not attached")
        change = self._after_delay(record["status"], record["status"])
        change["transition"]["set"] = {"attachment": None}
        self._write(
            VOLUME,
            volume.id,
            {**change, "attachment": {**attachment, "status": "detaching"}},
        )
        return True

    def ex_set_volume_metadata(
        self,
        volume: StorageVolume,
        name: str | None = None,
        description: str | None = None,
        properties: dict[str, str] | None = None,
    ) -> bool:
        changes = {"name": name, "description": description, "property": properties}
        self._write(
            VOLUME, volume.id, {k: v for k, v in changes.items() if v is not None}
        )
        return True

    def list_snapshots(self) -> list[VolumeSnapshot]:
        return [self._to_snapshot(r) for r in self._records(SNAPSHOT)]

    def list_volume_snapshots(self, volume: StorageVolume) -> list[VolumeSnapshot]:
        return [s for s in self.list_snapshots() if s.extra["volume"] == volume.id]

    def ex_get_snapshot(self, snapshot_id: str) -> VolumeSnapshot:
        return self._to_snapshot(self._record(SNAPSHOT, snapshot_id))

    def create_volume_snapshot(
        self,
        volume: StorageVolume,
        name: str | None = None,
        *,
        ex_description: str = "",
    ) -> VolumeSnapshot:
        source = self._record(VOLUME, volume.id)
        snapshot_id = f"snap-{uuid.uuid4().hex[:12]}"
        record = {
            "id": snapshot_id,
            "name": name or snapshot_id,
            "description": ex_description,
            "volume": volume.id,
            "size": source["size"],
            "created": self._stamp(),
            **self._after_delay("creating", "available"),
        }
        self.store.add(self.namespace, SNAPSHOT, snapshot_id, record)
        return self._to_snapshot(settle(record, self.clock()))

    def destroy_volume_snapshot(self, snapshot: VolumeSnapshot) -> bool:
        if not self.store.remove(self.namespace, SNAPSHOT, snapshot.id):
            raise NotFound(f"mock cloud: no snapshot {snapshot.id}")
        return True

    def _to_volume(self, record: dict) -> StorageVolume:
        state = {
            "creating": StorageVolumeState.CREATING,
            "available": StorageVolumeState.AVAILABLE,
            "deleting": StorageVolumeState.DELETING,
        }.get(record["status"], StorageVolumeState.UNKNOWN)
        created = record.get("created")
        return StorageVolume(
            record["id"],
            record["name"],
            record["size"],
            self,
            state=state,
            extra={**record, "created": created},
        )

    def _to_snapshot(self, record: dict) -> VolumeSnapshot:
        state = {
            "creating": VolumeSnapshotState.CREATING,
            "available": VolumeSnapshotState.AVAILABLE,
        }.get(record["status"], VolumeSnapshotState.UNKNOWN)
        return VolumeSnapshot(
            record["id"],
            self,
            size=record["size"],
            extra=dict(record),
            created=datetime.fromisoformat(record["created"]),
            state=state,
            name=record["name"],
        )

    # -- the network and its addresses ---------------------------------------

    def ex_list_networks(self) -> list[dict]:
        return [dict(network) for network in fixtures()["networks"]]

    def ex_list_addresses(self) -> list[dict]:
        return self.store.list(self.namespace, ADDRESS)

    def ex_get_address(self, address_id: str) -> dict:
        record = self.store.get(self.namespace, ADDRESS, address_id)
        if record is None:
            raise NotFound(f"mock cloud: no address {address_id}")
        return record

    def ex_allocate_address(self) -> dict:
        """Take the first free address of the pool."""
        taken = {r["id"] for r in self.store.list(self.namespace, ADDRESS)}
        for ip in (ip for ip in _ADDRESS_POOL if ip not in taken):
            record = {"id": ip, "ip": ip, "machine": None, "created": self._stamp()}
            if self.store.add(self.namespace, ADDRESS, ip, record):
                return record
        raise LibcloudError("mock cloud: no address left to allocate", driver=self)

    def ex_release_address(self, address_id: str) -> bool:
        record = self.ex_get_address(address_id)
        if record["machine"]:
            raise Conflict(f"mock cloud: address {address_id} is in use")
        if not self.store.remove(self.namespace, ADDRESS, address_id, expected=record):
            raise Conflict(f"mock cloud: address {address_id} changed; try again")
        return True

    def ex_associate_address(self, address_id: str, node: Node) -> dict:
        machine = self._record(MACHINE, node.id)
        if machine["status"] not in ("RUNNING", "STOPPED"):
            raise Conflict(f"mock cloud: machine {node.id} is {machine['status']}")
        return self._set_address(address_id, node.id)

    def ex_disassociate_address(self, address_id: str) -> dict:
        return self._set_address(address_id, None)

    def _set_address(self, address_id: str, machine: str | None) -> dict:
        record = self.ex_get_address(address_id)
        if machine and record["machine"] not in (None, machine):
            raise Conflict(
                f"mock cloud: address {address_id} is in use by {record['machine']}"
            )
        changed = {**record, "machine": machine}
        if not self.store.replace(
            self.namespace, ADDRESS, address_id, changed, expected=record
        ):
            raise Conflict(f"mock cloud: address {address_id} changed; try again")
        return changed

    # -- key pairs: public keys only are kept ------------------------------

    def list_key_pairs(self) -> list[KeyPair]:
        return [self._to_key_pair(r) for r in self.store.list(self.namespace, KEY)]

    def get_key_pair(self, name: str) -> KeyPair:
        record = self.store.get(self.namespace, KEY, name)
        if record is None:
            raise NotFound(f"mock cloud: no key pair {name}")
        return self._to_key_pair(record)

    def import_key_pair_from_string(self, name: str, key_material: str) -> KeyPair:
        record = {"name": name, "public_key": key_material, "created": self._stamp()}
        if not self.store.add(self.namespace, KEY, name, record):
            raise Conflict(f"mock cloud: a key pair named {name} exists already")
        return self._to_key_pair(record)

    def create_key_pair(self, name: str) -> KeyPair:
        """Make an Ed25519 key pair; only its public half is kept."""
        private = ed25519.Ed25519PrivateKey.generate()
        public = private.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        pair = self.import_key_pair_from_string(name, public.decode("ascii"))
        pair.private_key = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        ).decode("ascii")
        return pair

    def delete_key_pair(self, key_pair: KeyPair) -> bool:
        if not self.store.remove(self.namespace, KEY, key_pair.name):
            raise NotFound(f"mock cloud: no key pair {key_pair.name}")
        return True

    def _to_key_pair(self, record: dict) -> KeyPair:
        return KeyPair(
            record["name"],
            record["public_key"],
            fingerprint(record["public_key"]),
            self,
            extra={"created": record["created"]},
        )

    def _to_node(self, record: dict) -> Node:
        size = self._sizes().get(record["size"])
        extra = {
            **record,
            "cpu": size.extra["cpu"] if size else None,
            "ram": record.get("ram") or (size.ram if size else None),
            "architecture": size.extra["architecture"] if size else None,
        }
        return Node(
            record["id"],
            record["name"],
            # Most statuses are libcloud's names; SHUTTING_DOWN is UNKNOWN (as EC2's).
            NodeState.fromstring(record["status"]) or NodeState.UNKNOWN,
            [],
            [],
            self,
            size=size,
            extra=extra,
            created_at=datetime.fromisoformat(record["created"]),
        )
