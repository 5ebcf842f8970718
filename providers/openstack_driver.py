"""libcloud's OpenStack (Nova 2.x) driver with the fixes the gateway needs.

- A token Keystone no longer honours (expired early, revoked) answers 401 at
  Nova or Glance. libcloud then drops the token but fails the call; here the
  call is made once more, which authenticates anew. A refusal of the password
  itself is an ``InvalidCredsError`` from Keystone and is not retried.
- Tokens are never shared: a driver (and its token) belongs to one thread and
  one credential set (``LibcloudProvider.driver``), so no two requests race to
  renew one token and no token crosses credentials.
- Glance v2 images keep their ``description`` property (libcloud's mapping
  drops every property it does not name).
- The token's project id is kept (``project_id``).
- Nodes keep Nova's own ``status`` (``extra["nova_status"]``).
- Images are deleted through Glance v2, not Nova's image proxy (gone from
  microversion 2.36 on).
- Cinder volumes are made with their name, description and metadata
  (libcloud's ``create_volume`` writes the name as the description and as a
  ``contents`` key), and keep their project id; a volume Nova is still
  attaching (Cinder ``reserved``/``attaching``, no attachment listed yet) is
  given its attachment from Cinder's attachments API, so it is never seen
  attached to nothing.
- One snapshot is read from Cinder (``/snapshots/{id}``), not through Nova's
  ``/os-snapshots`` proxy, whose answer names no project; a volume or snapshot
  whose answer names no project is not this token's.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from libcloud.common.exceptions import BaseHTTPError
from libcloud.compute.base import Node
from libcloud.compute.base import NodeImage
from libcloud.compute.base import StorageVolume
from libcloud.compute.base import VolumeSnapshot
from libcloud.compute.drivers.openstack import OpenStack_2_Connection
from libcloud.compute.drivers.openstack import OpenStack_2_ImageConnection
from libcloud.compute.drivers.openstack import OpenStack_2_NodeDriver
from libcloud.compute.drivers.openstack import OpenStack_2_VolumeV2Connection
from libcloud.compute.drivers.openstack import OpenStack_2_VolumeV3Connection

UNAUTHORIZED = 401
#: the Cinder microversion of the attachments API (3.27).
ATTACHMENTS_API = {"OpenStack-API-Version": "volume 3.27"}
#: the volume statuses of an attach under way.
ATTACHING = frozenset({"reserved", "attaching"})


class _Reauthenticating:
    """A connection that makes a call once more after a 401 on its token."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().request(*args, **kwargs)  # type: ignore[misc]
        except BaseHTTPError as ex:
            # libcloud has just dropped the refused token: the retry
            # authenticates first.
            if ex.code != UNAUTHORIZED:
                raise
            return super().request(*args, **kwargs)  # type: ignore[misc]


class _ProjectKeeping:
    """An identity connection that keeps the project id of the token it got.

    libcloud keeps the token's user, not its project; the provider needs it
    to refuse another project's server an admin token could read by id.
    """

    project_id: str | None = None

    def request(self, action: str, *args: Any, **kwargs: Any) -> Any:
        response = super().request(action, *args, **kwargs)  # type: ignore[misc]
        if action.endswith("/auth/tokens") and kwargs.get("method") == "POST":
            try:
                token = json.loads(response.body)["token"]
                self.project_id = (token.get("project") or {}).get("id")
            except (ValueError, KeyError, TypeError):
                self.project_id = None  # libcloud itself refuses such an answer
        return response


@functools.cache
def _keeping(identity_class: type) -> type:
    name = f"ProjectKeeping{identity_class.__name__}"
    return type(name, (_ProjectKeeping, identity_class), {})


class _KeepsProject:
    """A service connection whose identity connection keeps the project id."""

    def get_auth_class(self) -> Any:
        osa = super().get_auth_class()  # type: ignore[misc]
        if not isinstance(osa, _ProjectKeeping):
            # NOTE: libcloud builds it from the auth version; a subclass of
            # the very class it chose, with no state of its own but one field.
            osa.__class__ = _keeping(type(osa))
        return osa


class GatewayComputeConnection(
    _Reauthenticating, _KeepsProject, OpenStack_2_Connection
):
    pass


class GatewayImageConnection(
    _Reauthenticating, _KeepsProject, OpenStack_2_ImageConnection
):
    pass


class GatewayVolumeV2Connection(
    _Reauthenticating, _KeepsProject, OpenStack_2_VolumeV2Connection
):
    pass


class GatewayVolumeV3Connection(
    _Reauthenticating, _KeepsProject, OpenStack_2_VolumeV3Connection
):
    pass


class GatewayOpenStackNodeDriver(OpenStack_2_NodeDriver):
    """``OpenStack_2_NodeDriver``, re-authenticating, keeping image descriptions."""

    connectionCls = GatewayComputeConnection
    image_connectionCls = GatewayImageConnection
    volumev2_connectionCls = GatewayVolumeV2Connection
    volumev3_connectionCls = GatewayVolumeV3Connection

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: (expiry, flavors by id) the provider keeps on this driver.
        self.flavors: tuple[float, dict] | None = None

    def _to_node(self, api_node: dict) -> Node:
        node = super()._to_node(api_node)
        # Nova's own status: libcloud keeps only its mapped state, which
        # folds PAUSED, REBOOT and others into a few of its own.
        node.extra["nova_status"] = api_node.get("status")
        return node

    def _to_image(self, api_image: dict) -> NodeImage:
        image = super()._to_image(api_image)
        image.extra["description"] = api_image.get("description") or ""
        image.extra["owner"] = api_image.get("owner")
        # Nova's createImage marks its images so in Glance v2.
        image.extra["image_type"] = api_image.get("image_type")
        # Mapped while answering a Glance call: its token's project is known.
        project = self.image_connection.get_auth_class().project_id
        image.extra["own"] = project is not None and image.extra["owner"] == project
        return image

    @property
    def project_id(self) -> str | None:
        """The id of the project the compute token is scoped to, once known."""
        return self.connection.get_auth_class().project_id

    def ex_unshelve_node(self, node: Node) -> bool:
        self.connection.request(
            f"/servers/{node.id}/action", method="POST", data={"unshelve": None}
        )
        return True

    def delete_image(self, image: NodeImage) -> bool:
        self.image_connection.request(f"/v2/images/{image.id}", method="DELETE")
        return True

    # -- Cinder ----------------------------------------------------------------

    def _to_volume(self, api_node: dict) -> StorageVolume:
        data = api_node.get("volume", api_node)
        volume = super()._to_volume(data)
        volume.extra["own"] = self._own(data.get("os-vol-tenant-attr:tenant_id"))
        if data.get("status") in ATTACHING and not volume.extra["attachments"]:
            volume.extra["attachments"] = self._pending_attachments(volume.id)
        return volume

    def _pending_attachments(self, volume_id: str) -> list[dict]:
        answer = self._get_volume_connection().request(
            f"/attachments/detail?volume_id={volume_id}", headers=ATTACHMENTS_API
        )
        return [
            {"server_id": a.get("instance"), "device": "", "pending": True}
            for a in answer.object.get("attachments", [])
            if a.get("instance") and a.get("volume_id") == volume_id
        ]

    def _to_snapshot(self, data: dict) -> VolumeSnapshot:
        data = data.get("snapshot", data)
        snapshot = super()._to_snapshot(data)
        snapshot.extra["own"] = self._own(
            data.get("os-extended-snapshot-attributes:project_id")
        )
        return snapshot

    def _own(self, project: str | None) -> bool:
        """Tell whether a Cinder answer's project is this token's. One that
        names none is not: Cinder tells a project's readers (and admins) the
        project of what they read, and an answer that does not say whose it
        is (Nova's snapshot proxy) could be any project's. Mapped while
        answering a Cinder call: its token's project is known."""
        ours = self._get_volume_connection().get_auth_class().project_id
        return project is not None and project == ours

    def ex_get_snapshot(self, snapshotId: str) -> VolumeSnapshot:
        """Read one snapshot from Cinder, which says whose it is.

        NOTE: libcloud's (OpenStack 1.1's) reads it through Nova's
        ``/os-snapshots`` proxy, whose answer names no project: an admin
        token would take another project's snapshot for its own.
        """
        answer = self._get_volume_connection().request(f"/snapshots/{snapshotId}")
        return self._to_snapshot(answer.object)

    def create_volume_snapshot(
        self,
        volume: StorageVolume,
        name: str | None = None,
        ex_description: str | None = None,
        ex_force: bool = True,
    ) -> VolumeSnapshot:
        snapshot = super().create_volume_snapshot(
            volume, name, ex_description=ex_description, ex_force=ex_force
        )
        # Cinder's answer to a create names no project: it is this token's.
        snapshot.extra["own"] = True
        return snapshot

    def ex_list_volume_types(self) -> list[dict]:
        """Return Cinder's volume types this project may use."""
        answer = self._get_volume_connection().request("/types")
        return list(answer.object.get("volume_types", []))

    def ex_create_volume(
        self,
        size: int,
        *,
        name: str,
        description: str,
        metadata: dict[str, str],
        volume_type: str,
        snapshot_id: str | None = None,
    ) -> StorageVolume:
        """Create a volume with its CIMI name, description and properties."""
        volume = {
            "size": size,
            "name": name or None,
            "description": description or None,
            "metadata": metadata,
            "volume_type": volume_type,
        }
        if snapshot_id:
            volume["snapshot_id"] = snapshot_id
        answer = self._get_volume_connection().request(
            "/volumes", method="POST", data={"volume": volume}
        )
        made = self._to_volume(answer.object)
        # Cinder's answer to a create names no project: it is this token's.
        made.extra["own"] = True
        return made

    def ex_update_volume(
        self,
        volume: StorageVolume,
        *,
        values: dict[str, str | None],
        metadata: dict[str, str] | None = None,
    ) -> None:
        """Set a volume's name and description; ``metadata`` replaces its own."""
        connection = self._get_volume_connection()
        if metadata is not None:
            connection.request(
                f"/volumes/{volume.id}/metadata",
                method="PUT",
                data={"metadata": metadata},
            )
        if values:
            connection.request(
                f"/volumes/{volume.id}", method="PUT", data={"volume": values}
            )
