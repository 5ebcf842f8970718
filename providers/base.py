"""The contract every cloud behind the gateway keeps.

A ``Provider`` answers in CIMI terms (dicts keyed by the attribute names of
``gateway/cimi/schema.py``, ids local to the provider, operations named, not
linked): the responders turn ids into URLs. What the libcloud-backed clouds
share lives in ``providers/libcloud_provider.py``.
"""

from __future__ import annotations

import abc
import base64
import functools
import hashlib
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import ClassVar
from urllib.parse import urlsplit

from gateway.cimi.errors import BadRequest

# Operation names a provider may list on a resource; the responders link them.
DELETE = "delete"
EDIT = "edit"
CAPTURE = "capture"
START = "start"
STOP = "stop"
RESTART = "restart"
PAUSE = "pause"
SUSPEND = "suspend"
#: an Address's action: take it off its machine.
DISASSOCIATE = "disassociate"
#: the actions a Machine takes by POST of an Action body.
MACHINE_ACTIONS = (START, STOP, RESTART, PAUSE, SUSPEND, CAPTURE)

# What a machine may do in each CIMI state, before a provider takes away what
# it cannot do; a state not listed allows only deletion.
MACHINE_OPERATIONS: dict[str, tuple[str, ...]] = {
    "STARTED": (EDIT, DELETE, STOP, RESTART, PAUSE, SUSPEND, CAPTURE),
    "STOPPED": (EDIT, DELETE, START, CAPTURE),
    "PAUSED": (EDIT, DELETE, START),
    "SUSPENDED": (EDIT, DELETE, START),
    "ERROR": (EDIT, DELETE),
    "DELETING": (),
}
_BUSY_OPERATIONS = (EDIT, DELETE)


@functools.cache  # PERF(gw): a few states, asked once per machine read
def machine_operations(
    state: str,
    *,
    capturable: bool = True,
    stoppable: bool = True,
    editable: bool = True,
    offered: tuple[str, ...] = MACHINE_ACTIONS,
) -> tuple[str, ...]:
    """Return the operations a machine in ``state`` offers.

    Args:
        capturable: the cloud can make an image of this machine.
        stoppable: the cloud can stop it (not an EC2 instance-store machine).
        editable: the cloud takes a change of its name, description and
            properties now (Nova: not while a task runs).
        offered: the actions the provider declares (``families.machine_actions``);
            a machine never advertises one its provider does not.
    """
    operations = MACHINE_OPERATIONS.get(state, _BUSY_OPERATIONS)
    return tuple(
        op
        for op in operations
        if (op != CAPTURE or capturable)
        and (op not in (START, STOP) or stoppable)
        and (op != EDIT or editable)
        and (op in (EDIT, DELETE) or op in offered)
    )


@dataclass(frozen=True)
class Credentials:
    """The key and secret a request acts with on a cloud."""

    user: str
    secret: str = ""
    #: whether the secret is part of the tenant's identity (see ``identity``).
    secret_bound: bool = True

    @property
    def identity(self) -> str:
        """Return a stable, non-secret name for the tenant these act for.

        In passthrough mode the secret is part of it: the gateway cannot judge
        a key without the cloud, and what it keeps for a tenant (templates,
        jobs) must not open to someone who knows only the key id. Credentials
        from the config (static mode) leave it out, so rotating the secret
        there keeps the tenant's records.
        """
        name = f"{self.user}\0{self.secret}" if self.secret_bound else self.user
        return hashlib.sha256(name.encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"Credentials(user={self.user!r}, secret='***')"


@dataclass(frozen=True)
class Setting:
    """One key a provider reads from its ``[providers.NAME]`` config table.

    ``check`` raises ``ValueError`` (its message says why) for a value of the
    right type that still cannot work, so start-up stops on it.
    """

    type: type | tuple[type, ...]
    required: bool = False
    default: Any = None
    help: str = ""
    check: Callable[[Any], None] | None = None


def effective_action(action: str, state: str) -> str:
    """Return what ``action`` means for a machine in ``state``.

    CIMI: restarting a STOPPED machine starts it.
    """
    return START if action == RESTART and state == "STOPPED" else action


@dataclass(frozen=True)
class MachineSpec:
    """What a MachineCreate asks for, with hrefs already turned into ids."""

    config_id: str
    image_id: str
    name: str = ""
    description: str = ""
    properties: Mapping[str, str] = field(default_factory=dict)
    key_name: str = ""
    user_data: str = ""  # Base64, as CIMI carries it
    initial_state: str = "STARTED"


@dataclass(frozen=True)
class VolumeSpec:
    """What a VolumeCreate asks for, with hrefs already turned into ids.

    Args:
        config_id: the volume configuration (the cloud's volume type).
        capacity: GiB, whole (CIMI's KiB rounded up by the gateway).
        image_id: the volume image (snapshot) to restore from, if any.
    """

    config_id: str
    capacity: int
    image_id: str = ""
    name: str = ""
    description: str = ""
    properties: Mapping[str, str] = field(default_factory=dict)


#: CIMI counts capacities in KiB; clouds make volumes in whole GiB.
KIB_PER_GIB = 1024 * 1024

#: what a volume in each CIMI state may do, before attachments take away.
VOLUME_OPERATIONS: dict[str, tuple[str, ...]] = {
    "AVAILABLE": (EDIT, DELETE),
    "CREATING": (),
    "CAPTURING": (EDIT,),
    "ERROR": (DELETE,),
    "DELETING": (),
}


#: the machine states a volume may be attached (and detached) in.
ATTACHABLE_STATES = ("STARTED", "STOPPED")


def volume_operations(state: str, *, attached: bool) -> tuple[str, ...]:
    """Return the operations a volume in ``state`` offers.

    An attached volume cannot be deleted (every cloud refuses it): detach it
    first, through the machine's MachineVolume.
    """
    operations = VOLUME_OPERATIONS.get(state, ())
    return tuple(op for op in operations if not (attached and op == DELETE))


#: told of each cloud call: provider name, operation, outcome, seconds.
CallObserver = Callable[[str, str, str, float], None]


class Provider(abc.ABC):
    """One cloud, mounted at one URL prefix.

    What it serves is what it inherits of ``providers/families.py``: one
    small contract per resource family.

    Args:
        name: the ``[providers.NAME]`` key of the config.
        settings: that config table, validated.
        store: the gateway's record store.
    """

    #: the config's ``driver`` name; the entry point's ``driver``.
    kind: ClassVar[str]
    #: the driver's own config keys (``driver`` and ``mount`` are common).
    SETTINGS: ClassVar[dict[str, Setting]] = {}
    #: the two settings holding the cloud's user and secret in static auth.
    STATIC_CREDENTIALS: ClassVar[tuple[str, str]] = ("key", "secret")
    #: its listings are remote calls, worth keeping a few seconds
    #: (``gateway/listings.py``); a local one is read fresh each time.
    caches_listings: ClassVar[bool] = True

    def __init__(self, name: str, settings: Mapping[str, Any], store: Any) -> None:
        self.name = name
        self.settings = settings
        self.store = store
        self.observer: CallObserver | None = None

    def observe_calls(self, observer: CallObserver) -> None:
        """Have ``observer`` told of every call this provider makes to its cloud."""
        self.observer = observer

    def report_call(self, operation: str, outcome: str, seconds: float) -> None:
        """Tell the observer of one cloud call (``outcome``: "ok" or a status)."""
        if self.observer is not None:
            self.observer(self.name, operation, outcome, seconds)

    def probe(self) -> str | None:
        """Return why the cloud cannot be reached now; None when it answers.

        Asks without credentials (a readiness check has none): whether the
        cloud answers at all, not whether it would accept anyone.
        """
        return None

    @property
    def probes_remotely(self) -> bool:
        """Whether ``probe`` goes over the network (and may take seconds)."""
        return False

    def setting(self, name: str) -> Any:
        """Return the configured value of ``name``, or its default."""
        value = self.settings.get(name)
        return self.SETTINGS[name].default if value is None else value

    def namespace(self, creds: Credentials) -> str:
        """Return the store namespace of ``creds`` on this provider."""
        return f"{self.name}:{creds.identity}"

    @abc.abstractmethod
    def check_credentials(self, creds: Credentials) -> None:
        """Raise ``Unauthorized`` when ``creds`` are known to be wrong."""

    @abc.abstractmethod
    def describe(self) -> dict:
        """Return the entry point's name and description; asks no cloud."""


# -- checks and conversions every cloud shares ---------------------------------


def check_endpoint(value: str) -> None:
    """Refuse an endpoint setting that is not an http(s) URL of a host.

    An empty one is no endpoint (EC2: Amazon's own for the region).
    """
    if not value:
        return
    try:
        url = urlsplit(value)
        url.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as ex:
        raise ValueError(f"'{value}' is not a URL ({ex})") from ex
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError(
            f"'{value}' is not an http(s) URL, such as http://127.0.0.1:5000"
        )


def check_positive(value: float) -> None:
    if value <= 0:
        raise ValueError("expected a positive number of seconds")


def decode_user_data(text: str) -> bytes:
    """Return the bytes a CIMI ``userData`` carries in Base64.

    Raises:
        BadRequest: when ``text`` is not Base64 (line breaks are allowed).
    """
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except ValueError as ex:
        raise BadRequest("userData: not valid Base64") from ex


def aware_utc(value: datetime | str | None) -> datetime | None:
    """Return a cloud's date (ISO 8601 text, or a datetime) in UTC; None if none.

    A date without a zone is UTC; libcloud's dates carry its own UTC class,
    ours compare and print plainly.
    """
    if not value:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
