"""The volume families written once over libcloud's storage calls.

``LibcloudVolumes`` serves Volume, VolumeConfiguration, VolumeImage and
MachineVolume for any ``LibcloudProvider`` whose driver has libcloud's
block-storage API (``create_volume``, ``attach_volume``,
``create_volume_snapshot``...). Each cloud supplies its mappings (the only
reads of its ``extra``) and the few calls where it differs; the checks every
cloud needs (an attached volume is not deleted, a volume in use is not
attached twice, a machine that cannot take a volume is told so) are made here,
before the cloud is asked, so each refusal is the same 409 everywhere.
"""

from __future__ import annotations

import abc
from typing import Any

from libcloud.compute.base import Node
from libcloud.compute.base import NodeDriver
from libcloud.compute.base import StorageVolume
from libcloud.compute.base import VolumeSnapshot

from gateway.cimi.errors import Conflict
from gateway.cimi.errors import NotFound
from providers.base import ATTACHABLE_STATES
from providers.base import DELETE
from providers.base import EDIT
from providers.base import Credentials
from providers.base import VolumeSpec
from providers.base import volume_operations
from providers.families import Narrowing
from providers.families import ServesMachineVolumes
from providers.families import ServesVolumeImages
from providers.families import ServesVolumes


class LibcloudVolumes(ServesVolumes, ServesVolumeImages, ServesMachineVolumes):
    """Block storage over a libcloud driver; mix in before ``LibcloudProvider``."""

    # -- what each cloud supplies ------------------------------------------

    @abc.abstractmethod
    def fetch_volume_configurations(self, driver: NodeDriver) -> list[dict]:
        """Return the cloud's volume types as VolumeConfiguration values."""

    @abc.abstractmethod
    def to_volume(self, volume: StorageVolume) -> dict:
        """Map a libcloud volume to Volume values (operations left to us)."""

    @abc.abstractmethod
    def attachment(self, volume: StorageVolume) -> dict | None:
        """Return where a volume is attached: ``machine``, ``device`` and
        ``state`` (ATTACHING, ATTACHED, DETACHING); None when it is not."""

    @abc.abstractmethod
    def to_volume_image(self, snapshot: VolumeSnapshot) -> dict:
        """Map a libcloud snapshot to VolumeImage values; ``imageLocation``
        is the source volume's local id."""

    @abc.abstractmethod
    def create_storage_volume(
        self,
        driver: NodeDriver,
        spec: VolumeSpec,
        config: dict,
        snapshot: VolumeSnapshot | None,
    ) -> StorageVolume:
        """Ask the cloud for a new volume, named and tagged from the start."""

    @abc.abstractmethod
    def set_volume_metadata(
        self, driver: NodeDriver, volume: StorageVolume, values: dict
    ) -> None:
        """Keep a volume's CIMI name, description and properties."""

    @abc.abstractmethod
    def create_snapshot(
        self, driver: NodeDriver, volume: StorageVolume, values: dict
    ) -> VolumeSnapshot:
        """Snapshot ``volume``; return the snapshot as the cloud reports it."""

    def fetch_volumes(
        self, driver: NodeDriver, narrow: Narrowing | None = None
    ) -> list[StorageVolume]:
        return driver.list_volumes()

    def find_volume(self, driver: NodeDriver, volume_id: str) -> StorageVolume:
        for volume in driver.list_volumes():
            if volume.id == volume_id:
                return volume
        raise NotFound(f"no volume {volume_id}")

    def fetch_snapshots(
        self, driver: NodeDriver, narrow: Narrowing | None = None
    ) -> list[VolumeSnapshot]:
        return driver.list_snapshots()

    def find_snapshot(self, driver: NodeDriver, snapshot_id: str) -> VolumeSnapshot:
        for snapshot in self.fetch_snapshots(driver):
            if snapshot.id == snapshot_id:
                return snapshot
        raise NotFound(f"no volume image {snapshot_id}")

    def attach(
        self, driver: NodeDriver, node: Node, volume: StorageVolume, device: str
    ) -> None:
        driver.attach_volume(node, volume, device or None)

    def detach(self, driver: NodeDriver, node: Node, volume: StorageVolume) -> None:
        driver.detach_volume(volume)

    def destroy_volume(self, driver: NodeDriver, volume: StorageVolume) -> None:
        driver.destroy_volume(volume)

    # -- VolumeConfiguration -----------------------------------------------

    def list_volume_configurations(self, creds: Credentials) -> list[dict]:
        driver = self.driver(creds)
        with self.calling(creds, "list_volume_configurations"):
            return self.fetch_volume_configurations(driver)

    def get_volume_configuration(self, creds: Credentials, config_id: str) -> dict:
        for config in self.list_volume_configurations(creds):
            if config["id"] == config_id:
                return config
        raise NotFound(f"no volume configuration {config_id}")

    # -- Volume ----------------------------------------------------------------

    def list_volumes(
        self, creds: Credentials, narrow: Narrowing | None = None
    ) -> list[dict]:
        driver = self.driver(creds)
        with self.calling(creds, "list_volumes"):
            volumes = self.fetch_volumes(driver, narrow)
        return [self._volume(volume) for volume in volumes]

    def get_volume(self, creds: Credentials, volume_id: str) -> dict:
        driver = self.driver(creds)
        with self.calling(creds, "get_volume"):
            return self._volume(self.find_volume(driver, volume_id))

    def create_volume(self, creds: Credentials, spec: VolumeSpec) -> dict:
        config = self.get_volume_configuration(creds, spec.config_id)
        driver = self.driver(creds)
        with self.calling(creds, "create_volume"):
            snapshot = None
            if spec.image_id:
                snapshot = self.find_snapshot(driver, spec.image_id)
            volume = self.create_storage_volume(driver, spec, config, snapshot)
        return self._volume(volume)

    def delete_volume(self, creds: Credentials, volume_id: str) -> None:
        driver = self.driver(creds)
        with self.calling(creds, "delete_volume"):
            volume = self.find_volume(driver, volume_id)
            self._allow_on_volume(volume, DELETE)
            self.destroy_volume(driver, volume)

    def edit_volume(self, creds: Credentials, volume_id: str, values: dict) -> dict:
        driver = self.driver(creds)
        with self.calling(creds, "edit_volume"):
            volume = self.find_volume(driver, volume_id)
            self._allow_on_volume(volume, EDIT)
            self.set_volume_metadata(driver, volume, values)
            return self._volume(self.find_volume(driver, volume_id))

    def _volume(self, volume: StorageVolume) -> dict:
        values = self.to_volume(volume)
        values["operations"] = volume_operations(
            values["state"], attached=self.attachment(volume) is not None
        )
        return values

    def _allow_on_volume(self, volume: StorageVolume, operation: str) -> None:
        values = self._volume(volume)
        if operation in values["operations"]:
            return
        where = self.attachment(volume)
        if where is not None and operation == DELETE:
            raise Conflict(
                f"volume {volume.id} is attached to machine {where['machine']}: "
                "detach it first"
            )
        raise Conflict(
            f"volume {volume.id} is {values['state']}: it cannot {operation} now"
        )

    # -- VolumeImage ---------------------------------------------------------

    def list_volume_images(
        self, creds: Credentials, narrow: Narrowing | None = None
    ) -> list[dict]:
        driver = self.driver(creds)
        with self.calling(creds, "list_volume_images"):
            snapshots = self.fetch_snapshots(driver, narrow)
        return [self.to_volume_image(snapshot) for snapshot in snapshots]

    def get_volume_image(self, creds: Credentials, image_id: str) -> dict:
        driver = self.driver(creds)
        with self.calling(creds, "get_volume_image"):
            return self.to_volume_image(self.find_snapshot(driver, image_id))

    def create_volume_image(
        self, creds: Credentials, volume_id: str, values: dict
    ) -> dict:
        driver = self.driver(creds)
        with self.calling(creds, "create_volume_image"):
            volume = self.find_volume(driver, volume_id)
            state = self.to_volume(volume)["state"]
            if state != "AVAILABLE":
                raise Conflict(f"volume {volume_id} is {state}: it cannot be captured")
            snapshot = self.create_snapshot(driver, volume, values)
        return self.to_volume_image(snapshot)

    def delete_volume_image(self, creds: Credentials, image_id: str) -> None:
        driver = self.driver(creds)
        with self.calling(creds, "delete_volume_image"):
            driver.destroy_volume_snapshot(self.find_snapshot(driver, image_id))

    # -- MachineVolume -------------------------------------------------------

    def list_machine_volumes(self, creds: Credentials, machine_id: str) -> list[dict]:
        driver = self.driver(creds)
        with self.calling(creds, "list_machine_volumes"):
            self.find_node(driver, machine_id)
            volumes = self.fetch_volumes(driver)
        return [
            self._machine_volume(volume, where)
            for volume in volumes
            if (where := self.attachment(volume)) and where["machine"] == machine_id
        ]

    def get_machine_volume(
        self, creds: Credentials, machine_id: str, volume_id: str
    ) -> dict:
        driver = self.driver(creds)
        with self.calling(creds, "get_machine_volume"):
            self.find_node(driver, machine_id)
            volume = self._attached(driver, machine_id, volume_id)
        return self._machine_volume(volume, self.attachment(volume))

    def attach_volume(
        self, creds: Credentials, machine_id: str, volume_id: str, device: str
    ) -> dict:
        driver = self.driver(creds)
        with self.calling(creds, "attach_volume"):
            node = self.find_node(driver, machine_id)
            state = self.to_machine(node)["state"]
            if state not in ATTACHABLE_STATES:
                raise Conflict(
                    f"machine {machine_id} is {state}: a volume can be attached "
                    "to a STARTED or STOPPED machine"
                )
            volume = self.find_volume(driver, volume_id)
            where = self.attachment(volume)
            if where is not None:
                raise Conflict(
                    f"volume {volume_id} is in use by machine {where['machine']}"
                )
            if self.to_volume(volume)["state"] != "AVAILABLE":
                raise Conflict(
                    f"volume {volume_id} is {self.to_volume(volume)['state']}: "
                    "it cannot be attached now"
                )
            self.attach(driver, node, volume, device)
            volume = self.find_volume(driver, volume_id)
        where = self.attachment(volume) or {
            "machine": machine_id,
            "device": device,
            "state": "ATTACHING",
        }
        return self._machine_volume(volume, where)

    def detach_volume(
        self, creds: Credentials, machine_id: str, volume_id: str
    ) -> None:
        driver = self.driver(creds)
        with self.calling(creds, "detach_volume"):
            node = self.find_node(driver, machine_id)
            # A fresh read: libcloud detaches what the object says is attached.
            volume = self._attached(driver, machine_id, volume_id)
            state = self.attachment(volume)["state"]
            if state == "DETACHING":
                return  # already going
            if state != "ATTACHED":
                # The operation is offered exactly when the detach can be made.
                raise Conflict(
                    f"volume {volume_id} is {state}: it can be detached once attached"
                )
            self.detach(driver, node, volume)

    def _attached(
        self, driver: NodeDriver, machine_id: str, volume_id: str
    ) -> StorageVolume:
        try:
            volume = self.find_volume(driver, volume_id)
        except NotFound:
            volume = None
        where = volume and self.attachment(volume)
        if not where or where["machine"] != machine_id:
            raise NotFound(f"no volume {volume_id} attached to machine {machine_id}")
        return volume

    def _machine_volume(self, volume: StorageVolume, where: dict[str, Any]) -> dict:
        return {
            "id": volume.id,
            "name": volume.name or volume.id,
            "initialLocation": where.get("device") or "",
            "volume": volume.id,
            "state": where["state"],
            "operations": (DELETE,) if where["state"] == "ATTACHED" else (),
        }
