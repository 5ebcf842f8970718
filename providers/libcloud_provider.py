"""What the libcloud-backed clouds share.

One driver per thread and credential set (libcloud drivers keep the last
response on their connection, so a shared driver can hand one thread
another's answer), one place turning driver failures into our errors, and the
Provider contract written once over libcloud's calls; each cloud supplies its
driver, its mappings and the few calls where it differs.
"""

from __future__ import annotations

import abc
import contextlib
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any
from typing import ClassVar
from urllib.parse import urlsplit

import requests
from libcloud.common.exceptions import BaseHTTPError
from libcloud.common.types import InvalidCredsError
from libcloud.common.types import LibcloudError
from libcloud.common.types import MalformedResponseError
from libcloud.compute.base import Node
from libcloud.compute.base import NodeDriver
from libcloud.compute.base import NodeImage
from libcloud.compute.base import NodeSize

from gateway.cimi.codec import bounded
from gateway.cimi.errors import CimiError
from gateway.cimi.errors import Conflict
from gateway.cimi.errors import Forbidden
from gateway.cimi.errors import NotFound
from gateway.cimi.errors import ProviderFailed
from gateway.cimi.errors import ProviderTimeout
from gateway.cimi.errors import Unauthorized
from providers.base import CAPTURE
from providers.base import DELETE
from providers.base import EDIT
from providers.base import PAUSE
from providers.base import RESTART
from providers.base import START
from providers.base import STOP
from providers.base import SUSPEND
from providers.base import Credentials
from providers.base import MachineSpec
from providers.base import Provider
from providers.base import effective_action
from providers.deadline import deadline
from providers.families import Narrowing
from providers.families import ServesMachineConfigurations
from providers.families import ServesMachineImages
from providers.families import ServesMachines


class LibcloudProvider(
    Provider, ServesMachineImages, ServesMachineConfigurations, ServesMachines
):
    """A provider whose cloud is reached through a libcloud ``NodeDriver``.

    libcloud's compute API covers the three machine families; a cloud whose
    driver lacks one would leave its contract out.
    """

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

    @abc.abstractmethod
    def to_machine_configuration(self, size: NodeSize) -> dict:
        """Map a libcloud size to CIMI MachineConfiguration values."""

    def translate(self, ex: Exception) -> CimiError | None:
        """Map a cloud-specific failure to our error; None when unknown."""
        return None

    def call_timeout(self) -> float | None:
        """Return the seconds one provider call may take in all, or None."""
        return None

    def verify(self, driver: NodeDriver) -> None:
        """Make the cheapest call that proves the driver's credentials good.

        The default asks nothing: building the driver judged them.
        """

    # -- how each cloud finds things; the defaults are libcloud's own ---------

    def fetch_images(
        self, driver: NodeDriver, narrow: Narrowing | None = None
    ) -> list[NodeImage]:
        """Return the images the collection lists (``narrow`` may be ignored)."""
        return driver.list_images()

    def fetch_nodes(
        self, driver: NodeDriver, narrow: Narrowing | None = None
    ) -> list[Node]:
        """Return the nodes the collection lists (``narrow`` may be ignored)."""
        return driver.list_nodes()

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

    def fetch_sizes(self, driver: NodeDriver) -> list[NodeSize]:
        """Return the sizes offered, as machine configurations."""
        return driver.list_sizes()

    @abc.abstractmethod
    def create_node(
        self, driver: NodeDriver, spec: MachineSpec, size: NodeSize, image: NodeImage
    ) -> Node:
        """Ask the cloud for a new node; honour name, key, user data, state."""

    @abc.abstractmethod
    def set_metadata(self, driver: NodeDriver, node: Node, values: dict) -> None:
        """Keep a node's CIMI name, description and properties."""

    def set_metadata_if(
        self,
        driver: NodeDriver,
        node: Node,
        values: dict,
        check: Callable[[dict], None] | None,
    ) -> None:
        """Keep a node's metadata if ``check`` passes on it as read just now.

        A cloud cannot write on a condition, so the check comes just before
        the call; a cloud that can (the mock) checks what it writes over.
        """
        if check is not None:
            check(self.to_machine(node))
        self.set_metadata(driver, node, values)

    def start_node(self, driver: NodeDriver, node: Node) -> None:
        driver.start_node(node)

    def stop_node(self, driver: NodeDriver, node: Node, force: bool) -> None:
        driver.stop_node(node)

    def reboot_node(self, driver: NodeDriver, node: Node, force: bool) -> None:
        driver.reboot_node(node)

    def destroy_node(self, driver: NodeDriver, node: Node) -> None:
        driver.destroy_node(node)

    def pause_node(self, driver: NodeDriver, node: Node) -> None:
        """Pause ``node``; only a cloud that declares ``pause`` is asked."""
        raise Conflict(f"machine {node.id} cannot pause on this cloud")

    def suspend_node(self, driver: NodeDriver, node: Node) -> None:
        """Suspend ``node``; only a cloud that declares ``suspend`` is asked."""
        raise Conflict(f"machine {node.id} cannot suspend on this cloud")

    # -- the Provider contract, the same for every libcloud cloud -------------

    def check_credentials(self, creds: Credentials) -> None:
        driver = self.driver(creds)
        try:
            with self.calling(creds, "check_credentials"):
                self.verify(driver)
        except Forbidden:
            # Known credentials without the right to that call: good.
            return

    def list_machine_images(
        self, creds: Credentials, narrow: Narrowing | None = None
    ) -> list[dict]:
        driver = self.driver(creds)
        with self.calling(creds, "list_machine_images"):
            images = self.fetch_images(driver, narrow)
        return [self.to_machine_image(image) for image in images]

    def get_machine_image(self, creds: Credentials, image_id: str) -> dict:
        driver = self.driver(creds)
        with self.calling(creds, "get_machine_image"):
            image = self.find_image(driver, image_id)
        return self.to_machine_image(image)

    def capture(self, creds: Credentials, machine_id: str, values: dict) -> dict:
        driver = self.driver(creds)
        with self.calling(creds, "capture"):
            node = self.find_node(driver, machine_id)
            # The operation is offered exactly when the capture is allowed.
            if CAPTURE not in self.to_machine(node)["operations"]:
                state = self.to_machine(node)["state"]
                raise Conflict(f"machine {machine_id} cannot be captured ({state})")
            image = self.create_image(driver, node, values)
        return self.to_machine_image(image)

    def delete_machine_image(self, creds: Credentials, image_id: str) -> None:
        driver = self.driver(creds)
        with self.calling(creds, "delete_machine_image"):
            # Clouds' booleans are unreliable (moto): no exception is success.
            driver.delete_image(self.find_image(driver, image_id))

    def list_machines(
        self, creds: Credentials, narrow: Narrowing | None = None
    ) -> list[dict]:
        driver = self.driver(creds)
        with self.calling(creds, "list_machines"):
            nodes = self.fetch_nodes(driver, narrow)
        return [self.to_machine(node) for node in nodes if self.is_listed(node)]

    def get_machine(self, creds: Credentials, machine_id: str) -> dict:
        driver = self.driver(creds)
        with self.calling(creds, "get_machine"):
            node = self.find_node(driver, machine_id)
        return self.to_machine(node)

    def list_machine_configurations(self, creds: Credentials) -> list[dict]:
        driver = self.driver(creds)
        with self.calling(creds, "list_machine_configurations"):
            sizes = self.fetch_sizes(driver)
        return [self.to_machine_configuration(size) for size in sizes]

    def get_machine_configuration(self, creds: Credentials, config_id: str) -> dict:
        driver = self.driver(creds)
        with self.calling(creds, "get_machine_configuration"):
            size = self._size(driver, config_id)
        return self.to_machine_configuration(size)

    def create_machine(self, creds: Credentials, spec: MachineSpec) -> dict:
        driver = self.driver(creds)
        with self.calling(creds, "create_machine"):
            size = self._size(driver, spec.config_id)
            image = self.find_image(driver, spec.image_id)
            node = self.create_node(driver, spec, size, image)
        return self.to_machine(node)

    def delete_machine(self, creds: Credentials, machine_id: str) -> None:
        driver = self.driver(creds)
        with self.calling(creds, "delete_machine"):
            node = self.find_node(driver, machine_id)
            self._allow(node, DELETE)
            self.destroy_node(driver, node)

    def edit_machine(
        self,
        creds: Credentials,
        machine_id: str,
        values: dict,
        *,
        check: Callable[[dict], None] | None = None,
    ) -> dict:
        driver = self.driver(creds)
        with self.calling(creds, "edit_machine"):
            node = self.find_node(driver, machine_id)
            self._allow(node, EDIT)
            self.set_metadata_if(driver, node, values, check)
            node = self.find_node(driver, machine_id)
        return self.to_machine(node)

    def act(
        self, creds: Credentials, machine_id: str, action: str, *, force: bool = False
    ) -> dict:
        driver = self.driver(creds)
        with self.calling(creds, "act"):
            node = self.find_node(driver, machine_id)
            action = effective_action(action, self.to_machine(node)["state"])
            self._allow(node, action)
            if action == START:
                self.start_node(driver, node)
            elif action == STOP:
                self.stop_node(driver, node, force)
            elif action == RESTART:
                self.reboot_node(driver, node, force)
            elif action == PAUSE:
                self.pause_node(driver, node)
            elif action == SUSPEND:
                self.suspend_node(driver, node)
            else:
                raise Conflict(f"machine {machine_id} cannot {action} this way")
            node = self.find_node(driver, machine_id)
        return self.to_machine(node)

    def _allow(self, node: Node, operation: str) -> None:
        machine = self.to_machine(node)
        if operation not in machine["operations"]:
            raise Conflict(
                f"machine {node.id} is {machine['state']}: it cannot {operation} now"
            )

    def _size(self, driver: NodeDriver, config_id: str) -> NodeSize:
        for size in self.fetch_sizes(driver):
            if size.id == config_id:
                return size
        raise NotFound(f"no machine configuration {config_id}")

    # -- shared machinery --------------------------------------------------

    def probe_url(self) -> str | None:
        """Return a URL of the cloud that answers anyone (None: nothing to ask)."""
        return None

    @property
    def probes_remotely(self) -> bool:
        return self.probe_url() is not None

    def probe(self) -> str | None:
        url = self.probe_url()
        if url is None:
            return None
        try:
            # Any answer, a 403 included, is a cloud that is up.
            requests.get(url, timeout=PROBE_SECONDS, allow_redirects=False).close()
        except requests.RequestException as ex:
            return f"{urlsplit(url).netloc} does not answer ({type(ex).__name__})"
        return None

    def driver(self, creds: Credentials) -> NodeDriver:
        """Return this thread's driver for ``creds``, building it once."""
        drivers: OrderedDict | None = getattr(self._local, "drivers", None)
        if drivers is None:
            drivers = self._local.drivers = OrderedDict()
        driver = drivers.get(creds)
        if driver is None:
            with self.calling(creds, "connect"):
                driver = self.make_driver(creds)
            drivers[creds] = driver
            if len(drivers) > self.max_drivers_per_thread:
                drivers.popitem(last=False)
        else:
            drivers.move_to_end(creds)
        return driver

    @contextlib.contextmanager
    def calling(self, creds: Credentials, operation: str) -> Iterator[None]:
        """Run the block as one cloud call: bounded in time, errors mapped.

        The whole block has ``call_timeout()`` seconds (every HTTP request in
        it shares them). Any failure becomes a ``CimiError`` whose message is
        the cloud's own, bounded, with the credentials blanked out. The call
        is reported as ``operation`` (a contract method's name) to the
        observer; a call inside another is part of it, not reported again.
        """
        depth = getattr(self._local, "calls", 0)
        self._local.calls = depth + 1
        started = time.perf_counter()
        outcome = "error"
        try:
            with deadline(self.call_timeout()) as bound:
                try:
                    yield
                    outcome = "ok"
                except CimiError as ex:
                    outcome = str(ex.status)
                    raise
                except Exception as ex:
                    if bound is not None and bound.expired:
                        error: CimiError = ProviderTimeout(
                            f"the cloud did not answer within {bound.seconds:g} s"
                        )
                    else:
                        error = self.translate(ex) or _generic_error(ex)
                    error.message = bounded(
                        _scrub(error.message, creds), MAX_CLOUD_TEXT
                    )
                    error.args = (error.message,)
                    outcome = str(error.status)
                    raise error from ex
        finally:
            self._local.calls = depth
            if depth == 0:
                self.report_call(operation, outcome, time.perf_counter() - started)


#: how long a readiness probe waits on a cloud.
PROBE_SECONDS = 2.0
#: the most of a cloud's own words an error message repeats.
MAX_CLOUD_TEXT = 500


def cloud_text(ex: BaseException) -> str:
    """Return what a libcloud failure says, without reprs or memory addresses.

    ``LibcloudError.__str__`` is a repr naming the driver object (and, for a
    malformed answer, the whole body); its ``value`` is the message.
    """
    if isinstance(ex, LibcloudError):
        return str(ex.value)
    if isinstance(ex, BaseHTTPError):
        return str(ex.message)
    return str(ex)


def _generic_error(ex: Exception) -> CimiError:
    if isinstance(ex, InvalidCredsError):
        return Unauthorized("the cloud refused these credentials")
    if isinstance(ex, requests.Timeout | socket.timeout | TimeoutError):
        return ProviderTimeout("the cloud did not answer in time")
    if isinstance(ex, requests.ConnectionError | ConnectionError):
        return ProviderFailed("the cloud cannot be reached")
    if isinstance(ex, MalformedResponseError):
        return ProviderFailed(f"the cloud's answer cannot be read: {cloud_text(ex)}")
    if isinstance(ex, BaseHTTPError | LibcloudError):
        return ProviderFailed(f"the cloud failed: {cloud_text(ex)}")
    return ProviderFailed(f"the cloud failed: {type(ex).__name__}: {ex}")


def _scrub(message: str, creds: Credentials) -> str:
    for secret in (creds.secret, creds.user):
        if secret and len(secret) >= 4:
            message = message.replace(secret, "***")
    return message
