"""What a provider can serve, family by family: one small contract each.

A provider serves a resource family by implementing its contract (inheriting
it and filling its methods); what it declares in the contract's class
attributes is what it can really do. The gateway derives everything from
that: the routes of a mount, its entry point, its ResourceMetadata. A
provider without a family simply has no such collection: no 501, no empty
list.

Adding a family is a contract here, a table in ``gateway/cimi/schema.py``, a
mapping per provider and a responder in ``gateway/resources/``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from collections.abc import Mapping
from typing import ClassVar

from providers.base import CAPTURE
from providers.base import RESTART
from providers.base import START
from providers.base import STOP
from providers.base import Credentials
from providers.base import MachineSpec
from providers.base import VolumeSpec

#: attribute name to the values a wanted member has one of.
Narrowing = Mapping[str, frozenset]


class ServesMachineImages(abc.ABC):
    """MachineImage: list, read, delete; capture a machine where it can."""

    #: the cloud makes images of machines (the Machine ``capture`` action).
    can_capture: ClassVar[bool] = True

    @abc.abstractmethod
    def list_machine_images(
        self, creds: Credentials, narrow: Narrowing | None = None
    ) -> list[dict]:
        """Return the machine images this tenant should see.

        Args:
            narrow: what the client's filter makes certain (``id``, ``name``,
                ``state`` to the values wanted); the cloud may be asked for
                just those, or not: the gateway filters the answer anyway.
        """

    def page_machine_images(
        self, creds: Credentials, page: slice
    ) -> tuple[list[dict], int] | None:
        """Return one page of the listing and its whole length, or None.

        A cloud that can page for itself (the mock, in its store) does; None
        lets the gateway page a (cached) whole listing.
        """
        return None

    @abc.abstractmethod
    def get_machine_image(self, creds: Credentials, image_id: str) -> dict:
        """Return one machine image; raise ``NotFound`` when there is none."""

    @abc.abstractmethod
    def delete_machine_image(self, creds: Credentials, image_id: str) -> None:
        """Delete a machine image; raise ``NotFound`` when there is none."""

    @abc.abstractmethod
    def capture(self, creds: Credentials, machine_id: str, values: dict) -> dict:
        """Create a machine image from a machine; return the new image.

        Args:
            values: the decoded MachineImage body (name, description...).
        """


class ServesMachineConfigurations(abc.ABC):
    """MachineConfiguration: the cloud's sizes, read-only."""

    @abc.abstractmethod
    def list_machine_configurations(self, creds: Credentials) -> list[dict]:
        """Return the machine configurations (sizes) offered."""

    @abc.abstractmethod
    def get_machine_configuration(self, creds: Credentials, config_id: str) -> dict:
        """Return one machine configuration; raise ``NotFound`` if unknown."""


class ServesMachines(abc.ABC):
    """Machine: create, read, edit, delete, and the actions the cloud offers."""

    #: the actions (besides capture, which ``ServesMachineImages`` declares).
    machine_actions: ClassVar[tuple[str, ...]] = (START, STOP, RESTART)
    #: the states a new machine may be asked to settle in, the default first.
    initial_states: ClassVar[tuple[str, ...]] = ("STARTED", "STOPPED")
    #: the cloud hands a MachineTemplate's ``userData`` to the machine.
    takes_user_data: ClassVar[bool] = True
    #: a stop Action's ``force`` reaches the cloud.
    forces_stop: ClassVar[bool] = False

    @abc.abstractmethod
    def list_machines(
        self, creds: Credentials, narrow: Narrowing | None = None
    ) -> list[dict]:
        """Return the machines this tenant should see (``narrow``: as images)."""

    @abc.abstractmethod
    def get_machine(self, creds: Credentials, machine_id: str) -> dict:
        """Return one machine; raise ``NotFound`` when there is none."""

    @abc.abstractmethod
    def create_machine(self, creds: Credentials, spec: MachineSpec) -> dict:
        """Start creating a machine; return it as the cloud first reports it."""

    @abc.abstractmethod
    def delete_machine(self, creds: Credentials, machine_id: str) -> None:
        """Start deleting a machine; raise ``NotFound`` when there is none."""

    @abc.abstractmethod
    def edit_machine(
        self,
        creds: Credentials,
        machine_id: str,
        values: dict,
        *,
        check: Callable[[dict], None] | None = None,
    ) -> dict:
        """Set a machine's name, description and properties; return it.

        Args:
            check: sees the machine as it stands just before the write and
                raises to refuse it (an If-Match). Where the cloud writes by
                compare-and-swap (the mock) it sees the very machine written
                over; elsewhere, a change in between is not seen.
        """

    @abc.abstractmethod
    def act(
        self, creds: Credentials, machine_id: str, action: str, *, force: bool = False
    ) -> dict:
        """Ask a machine to start, stop or restart; return it after asking.

        Raises:
            Conflict: when the machine's state does not allow ``action``.
        """


class ServesVolumes(abc.ABC):
    """Volume and VolumeConfiguration: block storage and its types."""

    #: the largest volume, in GiB, the cloud makes; larger asks are a 400.
    max_volume_gib: ClassVar[int] = 16384

    @abc.abstractmethod
    def list_volume_configurations(self, creds: Credentials) -> list[dict]:
        """Return the volume configurations (the cloud's volume types)."""

    @abc.abstractmethod
    def get_volume_configuration(self, creds: Credentials, config_id: str) -> dict:
        """Return one volume configuration; raise ``NotFound`` if unknown."""

    @abc.abstractmethod
    def list_volumes(
        self, creds: Credentials, narrow: Narrowing | None = None
    ) -> list[dict]:
        """Return the volumes this tenant should see (``narrow``: as images)."""

    @abc.abstractmethod
    def get_volume(self, creds: Credentials, volume_id: str) -> dict:
        """Return one volume; raise ``NotFound`` when there is none."""

    @abc.abstractmethod
    def create_volume(self, creds: Credentials, spec: VolumeSpec) -> dict:
        """Start creating a volume; return it as the cloud first reports it."""

    @abc.abstractmethod
    def delete_volume(self, creds: Credentials, volume_id: str) -> None:
        """Start deleting a volume.

        Raises:
            NotFound: there is none.
            Conflict: it is attached, or busy.
        """

    @abc.abstractmethod
    def edit_volume(self, creds: Credentials, volume_id: str, values: dict) -> dict:
        """Set a volume's name, description and properties; return it."""


class ServesVolumeImages(abc.ABC):
    """VolumeImage: snapshots of volumes; a volume can be restored from one."""

    @abc.abstractmethod
    def list_volume_images(
        self, creds: Credentials, narrow: Narrowing | None = None
    ) -> list[dict]:
        """Return this tenant's own volume images (never another account's)."""

    @abc.abstractmethod
    def get_volume_image(self, creds: Credentials, image_id: str) -> dict:
        """Return one volume image; raise ``NotFound`` when there is none."""

    @abc.abstractmethod
    def create_volume_image(
        self, creds: Credentials, volume_id: str, values: dict
    ) -> dict:
        """Snapshot a volume; return the new image as the cloud reports it.

        Args:
            values: the decoded VolumeImage body (name, description...).
        """

    @abc.abstractmethod
    def delete_volume_image(self, creds: Credentials, image_id: str) -> None:
        """Delete a volume image; raise ``NotFound`` when there is none."""


class ServesMachineVolumes(abc.ABC):
    """MachineVolume: volumes attached to machines.

    A machine volume's id is its volume's; its answers carry ``volume`` (the
    volume's id), ``initialLocation`` (the device) and ``state`` (ATTACHING,
    ATTACHED, DETACHING), which jobs follow.
    """

    @abc.abstractmethod
    def list_machine_volumes(self, creds: Credentials, machine_id: str) -> list[dict]:
        """Return the volumes attached to a machine; ``NotFound``: no machine."""

    @abc.abstractmethod
    def get_machine_volume(
        self, creds: Credentials, machine_id: str, volume_id: str
    ) -> dict:
        """Return one attachment; raise ``NotFound`` when it is not attached."""

    @abc.abstractmethod
    def attach_volume(
        self, creds: Credentials, machine_id: str, volume_id: str, device: str
    ) -> dict:
        """Start attaching a volume at ``device`` (may be empty: the cloud picks).

        Raises:
            NotFound: no such machine or volume.
            Conflict: the volume is in use, or the machine cannot take it now.
        """

    @abc.abstractmethod
    def detach_volume(
        self, creds: Credentials, machine_id: str, volume_id: str
    ) -> None:
        """Start detaching a volume; raise ``NotFound`` when it is not attached."""


class ServesCredentials(abc.ABC):
    """Credential: the cloud's SSH key pairs, by name.

    Answers carry ``id`` and ``name`` (the key pair's name), ``key`` (the
    public key line, where the cloud tells it) and ``fingerprint``. A
    private key is returned by ``generate_credential`` only, once: it is
    never kept or logged.
    """

    @abc.abstractmethod
    def list_credentials(self, creds: Credentials) -> list[dict]:
        """Return this tenant's key pairs."""

    @abc.abstractmethod
    def get_credential(self, creds: Credentials, name: str) -> dict:
        """Return one key pair; raise ``NotFound`` when there is none."""

    @abc.abstractmethod
    def import_credential(self, creds: Credentials, name: str, public_key: str) -> dict:
        """Import an OpenSSH public key line (checked) as key pair ``name``.

        Raises:
            Conflict: a key pair of that name exists.
        """

    @abc.abstractmethod
    def generate_credential(self, creds: Credentials, name: str) -> tuple[dict, str]:
        """Ask the cloud for a new key pair; return it and its private key.

        Raises:
            Conflict: a key pair of that name exists.
        """

    @abc.abstractmethod
    def delete_credential(self, creds: Credentials, name: str) -> None:
        """Delete a key pair; raise ``NotFound`` when there is none."""


class ServesNetworks(abc.ABC):
    """Network: the cloud's networks, read-only."""

    @abc.abstractmethod
    def list_networks(self, creds: Credentials) -> list[dict]:
        """Return the networks this tenant sees."""

    @abc.abstractmethod
    def get_network(self, creds: Credentials, network_id: str) -> dict:
        """Return one network; raise ``NotFound`` when there is none."""


class ServesAddresses(abc.ABC):
    """Address: public IP addresses held apart from machines (elastic, floating).

    Answers carry ``resource``: the local id of the machine the address is
    associated with, if any.
    """

    @abc.abstractmethod
    def list_addresses(self, creds: Credentials) -> list[dict]:
        """Return the addresses this tenant holds."""

    @abc.abstractmethod
    def get_address(self, creds: Credentials, address_id: str) -> dict:
        """Return one address; raise ``NotFound`` when there is none."""

    @abc.abstractmethod
    def allocate_address(self, creds: Credentials, values: dict) -> dict:
        """Allocate a new address (the cloud picks it); return it."""

    @abc.abstractmethod
    def release_address(self, creds: Credentials, address_id: str) -> None:
        """Release an address; raise ``Conflict`` while it is associated."""

    @abc.abstractmethod
    def associate_address(
        self, creds: Credentials, address_id: str, machine_id: str
    ) -> dict:
        """Associate an address with a machine; return the address.

        Raises:
            NotFound: no such address or machine.
            Conflict: it is associated already, or the machine cannot take it.
        """

    @abc.abstractmethod
    def disassociate_address(self, creds: Credentials, address_id: str) -> dict:
        """Take an address off its machine; return the address."""


#: every family a provider can serve.
FAMILIES: tuple[type, ...] = (
    ServesMachineImages,
    ServesMachineConfigurations,
    ServesMachines,
    ServesVolumes,
    ServesVolumeImages,
    ServesMachineVolumes,
    ServesCredentials,
    ServesNetworks,
    ServesAddresses,
)


def serves(provider: object, *families: type) -> bool:
    """Tell whether ``provider`` serves every one of ``families``."""
    return all(isinstance(provider, family) for family in families)


def machine_actions(provider: object) -> tuple[str, ...]:
    """Return the actions ``provider``'s machines take, capture included."""
    if not isinstance(provider, ServesMachines):
        return ()
    actions = provider.machine_actions
    if isinstance(provider, ServesMachineImages) and provider.can_capture:
        actions += (CAPTURE,)
    return actions
