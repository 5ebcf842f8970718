"""The contract every cloud behind the gateway keeps.

A ``Provider`` answers in CIMI terms (dicts keyed by the attribute names of
``gateway/cimi/schema.py``, ids local to the provider, operations named, not
linked): the responders turn ids into URLs. ``LibcloudProvider`` holds what
the libcloud-backed clouds share: one driver per thread and credential set
(libcloud drivers keep the last response on their connection, so a shared
driver can hand one thread another's answer), and one place turning driver
failures into our errors.
"""

from __future__ import annotations

import abc
import contextlib
import hashlib
import socket
import threading
from collections import OrderedDict
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from typing import ClassVar

import requests
from libcloud.common.exceptions import BaseHTTPError
from libcloud.common.types import InvalidCredsError
from libcloud.common.types import LibcloudError
from libcloud.compute.base import Node
from libcloud.compute.base import NodeDriver
from libcloud.compute.base import NodeImage

from gateway.cimi.errors import CimiError
from gateway.cimi.errors import Conflict
from gateway.cimi.errors import NotFound
from gateway.cimi.errors import ProviderFailed
from gateway.cimi.errors import ProviderTimeout
from gateway.cimi.errors import Unauthorized

# Operation names a provider may list on a resource; the responders link them.
DELETE = "delete"
EDIT = "edit"
CAPTURE = "capture"


@dataclass(frozen=True)
class Credentials:
    """The key and secret a request acts with on a cloud."""

    user: str
    secret: str = ""

    @property
    def identity(self) -> str:
        """Return a stable, non-secret name for these credentials."""
        return hashlib.sha256(self.user.encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"Credentials(user={self.user!r}, secret='***')"


@dataclass(frozen=True)
class Setting:
    """One key a provider reads from its ``[providers.NAME]`` config table."""

    type: type | tuple[type, ...]
    required: bool = False
    default: Any = None
    help: str = ""


class Provider(abc.ABC):
    """One cloud, mounted at one URL prefix.

    Args:
        name: the ``[providers.NAME]`` key of the config.
        settings: that config table, validated.
        store: the gateway's record store.
    """

    kind: ClassVar[str]
    #: the driver's own config keys (``driver`` and ``mount`` are common).
    SETTINGS: ClassVar[dict[str, Setting]] = {}

    def __init__(self, name: str, settings: Mapping[str, Any], store: Any) -> None:
        self.name = name
        self.settings = settings
        self.store = store

    def namespace(self, creds: Credentials) -> str:
        """Return the store namespace of ``creds`` on this provider."""
        return f"{self.name}:{creds.identity}"

    @abc.abstractmethod
    def check_credentials(self, creds: Credentials) -> None:
        """Raise ``Unauthorized`` when ``creds`` are known to be wrong."""

    @abc.abstractmethod
    def entry_point(self, creds: Credentials) -> dict:
        """Return the entry point's name, description and created date."""

    @abc.abstractmethod
    def list_machine_images(self, creds: Credentials) -> list[dict]:
        """Return the machine images this tenant should see."""

    @abc.abstractmethod
    def get_machine_image(self, creds: Credentials, image_id: str) -> dict:
        """Return one machine image; raise ``NotFound`` when there is none."""

    @abc.abstractmethod
    def capture(self, creds: Credentials, machine_id: str, values: dict) -> dict:
        """Create a machine image from a machine; return the new image.

        Args:
            values: the decoded MachineImage body (name, description...).
        """

    @abc.abstractmethod
    def delete_machine_image(self, creds: Credentials, image_id: str) -> None:
        """Delete a machine image; raise ``NotFound`` when there is none."""

    @abc.abstractmethod
    def list_machines(self, creds: Credentials) -> list[dict]:
        """Return the machines this tenant should see."""

    @abc.abstractmethod
    def get_machine(self, creds: Credentials, machine_id: str) -> dict:
        """Return one machine; raise ``NotFound`` when there is none."""


class LibcloudProvider(Provider):
    """A provider whose cloud is reached through a libcloud ``NodeDriver``."""

    #: the most drivers one thread keeps, for the most recent credentials.
    max_drivers_per_thread: ClassVar[int] = 32

    def __init__(self, name: str, settings: Mapping[str, Any], store: Any) -> None:
        super().__init__(name, settings, store)
        self._local = threading.local()

    # -- what each cloud supplies ------------------------------------------

    @abc.abstractmethod
    def make_driver(self, creds: Credentials) -> NodeDriver:
        """Build a new driver acting with ``creds``."""

    @abc.abstractmethod
    def to_machine_image(self, image: NodeImage) -> dict:
        """Map a libcloud image to CIMI MachineImage values."""

    @abc.abstractmethod
    def to_machine(self, node: Node) -> dict:
        """Map a libcloud node to CIMI Machine values."""

    def translate(self, ex: Exception) -> CimiError | None:
        """Map a cloud-specific failure to our error; None when unknown."""
        return None

    # -- how each cloud finds things; the defaults are libcloud's own ---------

    def fetch_images(self, driver: NodeDriver) -> list[NodeImage]:
        """Return the images the collection lists."""
        return driver.list_images()

    def find_image(self, driver: NodeDriver, image_id: str) -> NodeImage:
        """Return one image, any the cloud lets us read."""
        return driver.get_image(image_id)

    def is_listed(self, node: Node) -> bool:
        """Tell whether a node the cloud reports still exists for a client."""
        return True

    def find_node(self, driver: NodeDriver, machine_id: str) -> Node:
        """Return one node; raise ``NotFound`` when the cloud has none."""
        nodes = [
            node
            for node in driver.list_nodes(ex_node_ids=[machine_id])
            if node.id == machine_id and self.is_listed(node)
        ]
        if not nodes:
            raise NotFound(f"no machine {machine_id}")
        return nodes[0]

    def create_image(self, driver: NodeDriver, node: Node, values: dict) -> NodeImage:
        """Capture ``node``; return the new image as the cloud reports it."""
        return driver.create_image(node, values.get("name"), values.get("description"))

    # -- the Provider contract, the same for every libcloud cloud -------------

    def list_machine_images(self, creds: Credentials) -> list[dict]:
        driver = self.driver(creds)
        with self.calling(creds):
            images = self.fetch_images(driver)
        return [self.to_machine_image(image) for image in images]

    def get_machine_image(self, creds: Credentials, image_id: str) -> dict:
        driver = self.driver(creds)
        with self.calling(creds):
            image = self.find_image(driver, image_id)
        return self.to_machine_image(image)

    def capture(self, creds: Credentials, machine_id: str, values: dict) -> dict:
        driver = self.driver(creds)
        with self.calling(creds):
            node = self.find_node(driver, machine_id)
            # The operation is offered exactly when the capture is allowed.
            if CAPTURE not in self.to_machine(node)["operations"]:
                state = self.to_machine(node)["state"]
                raise Conflict(f"machine {machine_id} cannot be captured ({state})")
            image = self.create_image(driver, node, values)
        return self.to_machine_image(image)

    def delete_machine_image(self, creds: Credentials, image_id: str) -> None:
        driver = self.driver(creds)
        with self.calling(creds):
            # Clouds' booleans are unreliable (moto): no exception is success.
            driver.delete_image(self.find_image(driver, image_id))

    def list_machines(self, creds: Credentials) -> list[dict]:
        driver = self.driver(creds)
        with self.calling(creds):
            nodes = driver.list_nodes()
        return [self.to_machine(node) for node in nodes if self.is_listed(node)]

    def get_machine(self, creds: Credentials, machine_id: str) -> dict:
        driver = self.driver(creds)
        with self.calling(creds):
            node = self.find_node(driver, machine_id)
        return self.to_machine(node)

    # -- shared machinery --------------------------------------------------

    def driver(self, creds: Credentials) -> NodeDriver:
        """Return this thread's driver for ``creds``, building it once."""
        drivers: OrderedDict | None = getattr(self._local, "drivers", None)
        if drivers is None:
            drivers = self._local.drivers = OrderedDict()
        driver = drivers.get(creds)
        if driver is None:
            with self.calling(creds):
                driver = self.make_driver(creds)
            drivers[creds] = driver
            if len(drivers) > self.max_drivers_per_thread:
                drivers.popitem(last=False)
        else:
            drivers.move_to_end(creds)
        return driver

    @contextlib.contextmanager
    def calling(self, creds: Credentials) -> Iterator[None]:
        """Turn any failure of the cloud inside the block into a ``CimiError``.

        The message is the cloud's own, with the credentials blanked out.
        """
        try:
            yield
        except CimiError:
            raise
        except Exception as ex:
            error = self.translate(ex) or _generic_error(ex)
            error.message = _scrub(error.message, creds)
            error.args = (error.message,)
            raise error from ex


def _generic_error(ex: Exception) -> CimiError:
    if isinstance(ex, InvalidCredsError):
        return Unauthorized("the cloud refused these credentials")
    if isinstance(ex, requests.Timeout | socket.timeout | TimeoutError):
        return ProviderTimeout("the cloud did not answer in time")
    if isinstance(ex, requests.ConnectionError | ConnectionError):
        return ProviderFailed("the cloud cannot be reached")
    if isinstance(ex, BaseHTTPError | LibcloudError):
        return ProviderFailed(f"the cloud failed: {ex}")
    return ProviderFailed(f"the cloud failed: {type(ex).__name__}: {ex}")


def _scrub(message: str, creds: Credentials) -> str:
    for secret in (creds.secret, creds.user):
        if secret and len(secret) >= 4:
            message = message.replace(secret, "***")
    return message
