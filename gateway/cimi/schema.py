"""One declarative table per CIMI resource type.

A table is an ordered tuple of ``Attr`` rows, common attributes first, then the
type's own, then operations, as DSP0263 orders them. ``codec.py`` walks these
tables to write and read both XML and JSON; nothing else knows the wire names.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

NS = "http://schemas.dmtf.org/cimi/1"
SPEC_VERSION = "1.0.1"


def action_uri(name: str) -> str:
    """Return the CIMI URI of the action ``name`` (``capture``, ``stop``...)."""
    return f"{NS}/action/{name}"


class Kind(enum.StrEnum):
    """The few shapes a CIMI attribute can take on the wire."""

    TEXT = "text"
    INTEGER = "integer"
    DATETIME = "datetime"
    ENUM = "enum"
    URI = "uri"
    REF = "ref"  # <x href="..."/> / {"x": {"href": "..."}}
    PROPERTIES = "properties"  # <property key="k">v</property> / {"properties": {}}
    OPERATIONS = "operations"  # <operation rel href/> / {"operations": [...]}
    MEMBERS = "members"  # collection entries
    STRUCTS = "structs"  # repeated nested values: <disk><capacity/></disk>
    BOOLEAN = "boolean"
    EXPANDABLE = "expandable"  # a reference, a value, or both (DSP8009 expRef)
    # repeated elements whose fields are XML attributes, one maybe the text:
    # <capability name uri description>value</capability> / [{"name": ...}]
    DESCRIPTORS = "descriptors"


@dataclass(frozen=True)
class Attr:
    """One attribute of a resource type.

    Args:
        name: the XML element name, also the JSON key unless ``json_name``.
        kind: how the value is put on the wire.
        read_only: set by the server; ignored when a client sends it.
        required: a create body must carry it.
        choices: the allowed values of an ``ENUM``.
        json_name: the JSON key when it differs (``property`` -> ``properties``).
        member: the entry type of a ``MEMBERS`` attribute; of a ``URI``, the
            type of the resource it names (a provider answers its local id).
        xml_text: in a ``DESCRIPTORS`` member, the field written as the
            element's text rather than as an XML attribute.
    """

    name: str
    kind: Kind
    read_only: bool = False
    required: bool = False
    choices: tuple[str, ...] = ()
    json_name: str | None = None
    member: ResourceType | None = None
    xml_text: bool = False

    @property
    def json_key(self) -> str:
        return self.json_name or self.name


# PERF(gw): compared and hashed by identity (each type is one module constant);
# a field-wise hash walked every attribute row on each dict lookup.
@dataclass(frozen=True, eq=False)
class ResourceType:
    """A CIMI resource type: its root element, resourceURI and attribute table.

    Args:
        name: the type name and XML root (``MachineImage``).
        attrs: the ordered attribute table.
        collection_key: the JSON key of its entries in a collection.
        input_roots: XML roots accepted for a body of this type.
        xml_root: the XML root when it differs from ``name`` (``Collection``).
        path: the URL segment of its collection under a mount (Deltacloud's).
        entry_point_key: the entry point attribute linking its collection.
    """

    name: str
    attrs: tuple[Attr, ...]
    collection_key: str = ""
    input_roots: frozenset[str] = frozenset()
    xml_root: str = ""
    path: str = ""
    entry_point_key: str = ""
    by_name: Mapping[str, Attr] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {a.name: a for a in self.attrs})
        if not self.input_roots:
            object.__setattr__(self, "input_roots", frozenset({self.name}))

    @property
    def type_uri(self) -> str:
        return f"{NS}/{self.name}"

    @property
    def root(self) -> str:
        return self.xml_root or self.name


@dataclass(frozen=True)
class Document:
    """A resource ready for the wire: its type and values keyed by attr name."""

    type: ResourceType
    values: Mapping[str, Any]


COMMON = (
    Attr("id", Kind.URI, read_only=True),
    Attr("name", Kind.TEXT),
    Attr("description", Kind.TEXT),
    Attr("created", Kind.DATETIME, read_only=True),
    Attr("updated", Kind.DATETIME, read_only=True),
    Attr("property", Kind.PROPERTIES, json_name="properties"),
)
OPERATIONS = Attr("operation", Kind.OPERATIONS, read_only=True, json_name="operations")

IMAGE_STATES = ("CREATING", "AVAILABLE", "DELETING", "ERROR")
IMAGE_TYPES = ("IMAGE", "SNAPSHOT", "PARTIAL_SNAPSHOT")
MACHINE_STATES = (
    "CREATING",
    "STARTING",
    "STARTED",
    "STOPPING",
    "STOPPED",
    "PAUSING",
    "PAUSED",
    "SUSPENDING",
    "SUSPENDED",
    "DELETING",
    "ERROR",
)

MACHINE_IMAGE = ResourceType(
    "MachineImage",
    COMMON
    + (
        Attr("state", Kind.ENUM, read_only=True, choices=IMAGE_STATES),
        Attr("type", Kind.ENUM, choices=IMAGE_TYPES),
        Attr("imageLocation", Kind.URI, required=True),
        Attr("relatedImage", Kind.REF),
        OPERATIONS,
    ),
    collection_key="machineImages",
    path="machine_images",
    entry_point_key="machineImages",
    input_roots=frozenset({"MachineImage", "MachineImageCreate", "machineImageCreate"}),
)

DISK = ResourceType(
    "Disk",
    (
        Attr("capacity", Kind.INTEGER),
        Attr("format", Kind.TEXT),
        Attr("initialLocation", Kind.TEXT),
    ),
)

MACHINE_CONFIGURATION = ResourceType(
    "MachineConfiguration",
    COMMON
    + (
        Attr("cpu", Kind.INTEGER),
        Attr("memory", Kind.INTEGER),
        Attr("disk", Kind.STRUCTS, json_name="disks", member=DISK),
        Attr("cpuArch", Kind.TEXT),
        OPERATIONS,
    ),
    collection_key="machineConfigurations",
    path="machine_configurations",
    entry_point_key="machineConfigs",
)

MACHINE = ResourceType(
    "Machine",
    COMMON
    + (
        Attr("state", Kind.ENUM, read_only=True, choices=MACHINE_STATES),
        Attr("cpu", Kind.INTEGER, read_only=True),
        Attr("memory", Kind.INTEGER, read_only=True),
        Attr("cpuArch", Kind.TEXT, read_only=True),
        # The href of the machine's MachineVolume collection, where served.
        Attr("volumes", Kind.REF, read_only=True),
        OPERATIONS,
    ),
    collection_key="machines",
    path="machines",
    entry_point_key="machines",
    input_roots=frozenset({"Machine"}),
)

# NOTE: every collection key DSP0263 lists, in its order; a provider's entry
# point fills only those it serves and the codec omits the rest.
ENTRY_POINT_COLLECTIONS = (
    "resourceMetadata",
    "systems",
    "systemTemplates",
    "machines",
    "machineTemplates",
    "machineConfigs",
    "machineImages",
    "credentials",
    "credentialTemplates",
    "volumes",
    "volumeTemplates",
    "volumeConfigs",
    "volumeImages",
    "networks",
    "networkTemplates",
    "networkConfigs",
    "networkPorts",
    "networkPortTemplates",
    "networkPortConfigs",
    "addresses",
    "addressTemplates",
    "forwardingGroups",
    "forwardingGroupTemplates",
    "jobs",
    "meters",
    "meterTemplates",
    "meterConfigs",
    "eventLogs",
    "eventLogTemplates",
)

CLOUD_ENTRY_POINT = ResourceType(
    "CloudEntryPoint",
    COMMON
    # NOTE(gw): `driver` and `provider` are Deltacloud's, which its CIMI
    # client model requires; DSP8009 has no place for them (README, Wire).
    + (
        Attr("driver", Kind.TEXT, read_only=True),
        Attr("provider", Kind.TEXT, read_only=True),
        Attr("baseURI", Kind.URI, read_only=True),
    )
    + tuple(Attr(key, Kind.REF, read_only=True) for key in ENTRY_POINT_COLLECTIONS)
    + (OPERATIONS,),
    path="cloudEntryPoint",
)


@functools.cache
def collection_of(member: ResourceType) -> ResourceType:
    """Return the collection type whose entries are ``member`` resources."""
    return ResourceType(
        f"{member.name}Collection",
        (
            Attr("id", Kind.URI, read_only=True),
            Attr("count", Kind.INTEGER, read_only=True),
            Attr(
                member.name,
                Kind.MEMBERS,
                read_only=True,
                json_name=member.collection_key,
                member=member,
            ),
            OPERATIONS,
        ),
        xml_root="Collection",
    )


# -- credentials: SSH key pairs ------------------------------------------------

#: DSP8009's Credential: ``key`` is hexBinary; here the hex of the OpenSSH
#: public key line (``ssh-ed25519 AAAA...``). A create may give the line as it
#: is. NOTE: DSP8009 puts these extensions after the operations.
_CREDENTIAL_ATTRS = (
    OPERATIONS,
    Attr("userName", Kind.TEXT),
    Attr("password", Kind.TEXT),
    Attr("key", Kind.TEXT),
)

CREDENTIAL = ResourceType(
    "Credential",
    COMMON + _CREDENTIAL_ATTRS,
    collection_key="credentials",
    path="credentials",
    entry_point_key="credentials",
)

CREDENTIAL_TEMPLATE = ResourceType(
    "CredentialTemplate",
    COMMON + _CREDENTIAL_ATTRS,
    collection_key="credentialTemplates",
    path="credential_templates",
    entry_point_key="credentialTemplates",
    input_roots=frozenset(
        {"CredentialTemplate", "CredentialTemplateCreate", "credentialTemplateCreate"}
    ),
)

CREDENTIAL_CREATE = ResourceType(
    "CredentialCreate",
    COMMON
    + (
        # NOTE(gw): DSP8009 requires it; without one, the cloud generates a key.
        Attr("credentialTemplate", Kind.EXPANDABLE, member=CREDENTIAL_TEMPLATE),
    ),
    input_roots=frozenset({"CredentialCreate", "credentialCreate"}),
)

# -- networks and addresses ---------------------------------------------------------

NETWORK_STATES = (
    "CREATING",
    "STARTING",
    "STARTED",
    "STOPPING",
    "STOPPED",
    "SUSPENDING",
    "SUSPENDED",
    "DELETING",
    "ERROR",
)

NETWORK = ResourceType(
    "Network",
    COMMON
    + (
        Attr("state", Kind.ENUM, read_only=True, choices=NETWORK_STATES),
        Attr("networkType", Kind.ENUM, read_only=True, choices=("PUBLIC", "PRIVATE")),
        Attr("mtu", Kind.INTEGER, read_only=True),
        Attr("classOfService", Kind.TEXT, read_only=True),
        OPERATIONS,
    ),
    collection_key="networks",
    path="networks",
    entry_point_key="networks",
)

_ADDRESS_ATTRS = (
    Attr("ip", Kind.TEXT),
    Attr("hostname", Kind.TEXT),
    Attr("allocation", Kind.TEXT),
    Attr("defaultGateway", Kind.TEXT),
    Attr("dns", Kind.TEXT),
    Attr("protocol", Kind.TEXT),
    Attr("mask", Kind.TEXT),
    Attr("network", Kind.EXPANDABLE, member=NETWORK),
)

ADDRESS = ResourceType(
    "Address",
    COMMON
    + _ADDRESS_ATTRS
    # The machine the address is associated with: an edit naming one
    # associates it there.
    + (Attr("resource", Kind.EXPANDABLE, member=MACHINE), OPERATIONS),
    collection_key="addresses",
    path="addresses",
    entry_point_key="addresses",
    input_roots=frozenset({"Address"}),
)

ADDRESS_TEMPLATE = ResourceType(
    "AddressTemplate",
    COMMON + _ADDRESS_ATTRS + (OPERATIONS,),
    collection_key="addressTemplates",
    path="address_templates",
    entry_point_key="addressTemplates",
    input_roots=frozenset(
        {"AddressTemplate", "AddressTemplateCreate", "addressTemplateCreate"}
    ),
)

ADDRESS_CREATE = ResourceType(
    "AddressCreate",
    COMMON
    # NOTE(gw): DSP8009 requires it; the cloud picks the address anyway.
    + (Attr("addressTemplate", Kind.EXPANDABLE, member=ADDRESS_TEMPLATE),),
    input_roots=frozenset({"AddressCreate", "addressCreate"}),
)

# -- volumes --------------------------------------------------------------------

VOLUME_STATES = ("CREATING", "AVAILABLE", "CAPTURING", "DELETING", "ERROR")
VOLUME_IMAGE_STATES = ("CREATING", "AVAILABLE", "DELETING", "ERROR")
#: a MachineVolume's own states (DSP8009 gives it none; jobs follow them).
MACHINE_VOLUME_STATES = ("ATTACHING", "ATTACHED", "DETACHING", "ERROR")

VOLUME_CONFIGURATION = ResourceType(
    "VolumeConfiguration",
    COMMON
    + (
        Attr("type", Kind.URI),
        Attr("format", Kind.TEXT),
        Attr("capacity", Kind.INTEGER),
        OPERATIONS,
    ),
    collection_key="volumeConfigurations",
    path="volume_configurations",
    entry_point_key="volumeConfigs",
)

VOLUME = ResourceType(
    "Volume",
    COMMON
    + (
        Attr("state", Kind.ENUM, read_only=True, choices=VOLUME_STATES),
        Attr("type", Kind.URI, read_only=True),
        Attr("capacity", Kind.INTEGER, read_only=True),
        Attr("bootable", Kind.BOOLEAN, read_only=True),
        OPERATIONS,
    ),
    collection_key="volumes",
    path="volumes",
    entry_point_key="volumes",
    input_roots=frozenset({"Volume"}),
)

VOLUME_IMAGE = ResourceType(
    "VolumeImage",
    COMMON
    + (
        Attr("state", Kind.ENUM, read_only=True, choices=VOLUME_IMAGE_STATES),
        # The source volume's href: a provider answers its local id, which
        # the responders link (``member``), as a client names it by href.
        Attr("imageLocation", Kind.URI, required=True, member=VOLUME),
        Attr("bootable", Kind.BOOLEAN, read_only=True),
        OPERATIONS,
    ),
    collection_key="volumeImages",
    path="volume_images",
    entry_point_key="volumeImages",
    input_roots=frozenset({"VolumeImage", "VolumeImageCreate", "volumeImageCreate"}),
)

VOLUME_TEMPLATE = ResourceType(
    "VolumeTemplate",
    COMMON
    + (
        Attr("volumeConfig", Kind.EXPANDABLE, member=VOLUME_CONFIGURATION),
        Attr("volumeImage", Kind.EXPANDABLE, member=VOLUME_IMAGE),
        OPERATIONS,
    ),
    collection_key="volumeTemplates",
    path="volume_templates",
    entry_point_key="volumeTemplates",
    input_roots=frozenset(
        {"VolumeTemplate", "VolumeTemplateCreate", "volumeTemplateCreate"}
    ),
)

VOLUME_CREATE = ResourceType(
    "VolumeCreate",
    COMMON
    + (Attr("volumeTemplate", Kind.EXPANDABLE, required=True, member=VOLUME_TEMPLATE),),
    input_roots=frozenset({"VolumeCreate", "volumeCreate"}),
)

MACHINE_VOLUME = ResourceType(
    "MachineVolume",
    COMMON
    + (
        Attr("initialLocation", Kind.TEXT),
        Attr("volume", Kind.EXPANDABLE, required=True, member=VOLUME),
        OPERATIONS,
    ),
    collection_key="machineVolumes",
    # NOTE: under a machine: {mount}/machines/{id}/volumes.
    path="volumes",
    input_roots=frozenset({"MachineVolume", "MachineVolumeCreate"}),
)

INITIAL_STATES = ("STARTED", "STOPPED")

#: a volume a machine made from a template is given: its href, and where.
MACHINE_TEMPLATE_VOLUME = ResourceType(
    "volume",
    (Attr("href", Kind.URI), Attr("initialLocation", Kind.TEXT)),
)

MACHINE_TEMPLATE = ResourceType(
    "MachineTemplate",
    COMMON
    + (
        Attr("initialState", Kind.ENUM, choices=INITIAL_STATES),
        Attr("machineConfig", Kind.EXPANDABLE, member=MACHINE_CONFIGURATION),
        Attr("machineImage", Kind.EXPANDABLE, member=MACHINE_IMAGE),
        Attr("credential", Kind.EXPANDABLE),
        # <volume href initialLocation/>: attached once the machine is made.
        Attr(
            "volume",
            Kind.DESCRIPTORS,
            json_name="volumes",
            member=MACHINE_TEMPLATE_VOLUME,
        ),
        Attr("userData", Kind.TEXT),
        OPERATIONS,
    ),
    collection_key="machineTemplates",
    path="machine_templates",
    entry_point_key="machineTemplates",
    input_roots=frozenset(
        {"MachineTemplate", "MachineTemplateCreate", "machineTemplateCreate"}
    ),
)

MACHINE_CREATE = ResourceType(
    "MachineCreate",
    COMMON
    + (
        Attr(
            "machineTemplate", Kind.EXPANDABLE, required=True, member=MACHINE_TEMPLATE
        ),
    ),
    input_roots=frozenset({"MachineCreate", "machineCreate"}),
)

# -- systems: resources made, driven and deleted as one --------------------------

#: DSP0263 1.0.1's System states; MIXED: its machines are not all alike.
SYSTEM_STATES = MACHINE_STATES[:-2] + ("MIXED", "DELETING", "ERROR")


def type_uri(name: str) -> str:
    """Return the CIMI type URI of the resource type ``name``."""
    return f"{NS}/{name}"


#: one kind of component of a SystemTemplate: its type, its template (by
#: reference or by value; ``systemTemplate`` by reference only) and how many.
COMPONENT_DESCRIPTOR = ResourceType(
    "componentDescriptor",
    (
        Attr("name", Kind.TEXT),
        Attr("description", Kind.TEXT),
        Attr("property", Kind.PROPERTIES, json_name="properties"),
        Attr("type", Kind.URI),
        Attr("machineTemplate", Kind.EXPANDABLE, member=MACHINE_TEMPLATE),
        Attr("volumeTemplate", Kind.EXPANDABLE, member=VOLUME_TEMPLATE),
        Attr("credentialTemplate", Kind.EXPANDABLE, member=CREDENTIAL_TEMPLATE),
        Attr("systemTemplate", Kind.EXPANDABLE),
        Attr("quantity", Kind.INTEGER),
    ),
)

SYSTEM_TEMPLATE = ResourceType(
    "SystemTemplate",
    COMMON
    + (
        Attr(
            "componentDescriptor",
            Kind.STRUCTS,
            json_name="componentDescriptors",
            member=COMPONENT_DESCRIPTOR,
        ),
        OPERATIONS,
    ),
    collection_key="systemTemplates",
    path="system_templates",
    entry_point_key="systemTemplates",
    input_roots=frozenset(
        {"SystemTemplate", "SystemTemplateCreate", "systemTemplateCreate"}
    ),
)

SYSTEM = ResourceType(
    "System",
    COMMON
    + (
        Attr("state", Kind.ENUM, read_only=True, choices=SYSTEM_STATES),
        # The hrefs of its component collections, DSP8009's order.
        Attr("systems", Kind.REF, read_only=True),
        Attr("machines", Kind.REF, read_only=True),
        Attr("credentials", Kind.REF, read_only=True),
        Attr("volumes", Kind.REF, read_only=True),
        Attr("networks", Kind.REF, read_only=True),
        OPERATIONS,
    ),
    collection_key="systems",
    path="systems",
    entry_point_key="systems",
    input_roots=frozenset({"System"}),
)

SYSTEM_CREATE = ResourceType(
    "SystemCreate",
    COMMON
    + (Attr("systemTemplate", Kind.EXPANDABLE, required=True, member=SYSTEM_TEMPLATE),),
    input_roots=frozenset({"SystemCreate", "systemCreate"}),
)


def _system_component(name: str, attr: str, member: ResourceType) -> ResourceType:
    """The entry of a system's ``member`` collection: it holds its href."""
    return ResourceType(
        name,
        COMMON
        + (
            Attr(attr, Kind.EXPANDABLE, required=True, member=member),
            OPERATIONS,
        ),
        collection_key=name[0].lower() + name[1:] + "s",
        # NOTE: under a system: {mount}/systems/{id}/<path>.
        path=member.path,
        input_roots=frozenset({name, f"{name}Create"}),
    )


SYSTEM_MACHINE = _system_component("SystemMachine", "machine", MACHINE)
SYSTEM_VOLUME = _system_component("SystemVolume", "volume", VOLUME)
SYSTEM_CREDENTIAL = _system_component("SystemCredential", "credential", CREDENTIAL)
SYSTEM_NETWORK = _system_component("SystemNetwork", "network", NETWORK)
SYSTEM_SYSTEM = _system_component("SystemSystem", "system", SYSTEM)

ACTION = ResourceType(
    "Action",
    (Attr("action", Kind.URI, required=True), Attr("force", Kind.BOOLEAN)),
    input_roots=frozenset({"Action", "action"}),
)

JOB_STATUSES = ("RUNNING", "SUCCESS", "FAILED", "CANCELLED")

#: a bare reference, repeated: ``<nestedJob href="..."/>`` / ``[{"href": ...}]``.
HREF = ResourceType("href", (Attr("href", Kind.URI),))

JOB = ResourceType(
    "Job",
    COMMON
    + (
        Attr("targetResource", Kind.REF, read_only=True),
        Attr("action", Kind.URI, read_only=True),
        Attr("status", Kind.ENUM, read_only=True, choices=JOB_STATUSES),
        Attr("returnCode", Kind.INTEGER, read_only=True),
        Attr("progress", Kind.INTEGER, read_only=True),
        Attr("statusMessage", Kind.TEXT, read_only=True),
        Attr("timeOfStatusChange", Kind.DATETIME, read_only=True),
        Attr("isCancellable", Kind.BOOLEAN, read_only=True),
        Attr("parentJob", Kind.REF, read_only=True),
        Attr(
            "nestedJob",
            Kind.DESCRIPTORS,
            read_only=True,
            json_name="nestedJobs",
            member=HREF,
        ),
        OPERATIONS,
    ),
    collection_key="jobs",
    path="jobs",
    entry_point_key="jobs",
)


def action_name(uri: str) -> str | None:
    """Return the action a URI names, read as leniently as clients sent them.

    Any URI ending in ``/action/<name>`` names ``<name>``: clients of the era
    sent ``http://http://schemas.dmtf.org/...`` and the like.
    """
    head, sep, name = uri.strip().rpartition("/action/")
    return name if sep and head and name.isalpha() else None


# -- ResourceMetadata (DSP0263 5.13) -------------------------------------------

ATTRIBUTE_METADATA = ResourceType(
    "attribute",
    (
        Attr("name", Kind.TEXT),
        Attr("namespace", Kind.URI),
        Attr("type", Kind.TEXT),
        Attr("required", Kind.BOOLEAN),
    ),
)
CAPABILITY_METADATA = ResourceType(
    "capability",
    (
        Attr("name", Kind.TEXT),
        Attr("uri", Kind.URI),
        Attr("description", Kind.TEXT),
        Attr("value", Kind.TEXT, xml_text=True),
    ),
)
ACTION_METADATA = ResourceType(
    "action",
    (
        Attr("name", Kind.TEXT),
        Attr("uri", Kind.URI),
        Attr("description", Kind.TEXT),
        Attr("method", Kind.TEXT),
        Attr("inputMessage", Kind.TEXT),
        Attr("outputMessage", Kind.TEXT),
    ),
)


def _descriptors(name: str, json_name: str, member: ResourceType) -> Attr:
    return Attr(
        name, Kind.DESCRIPTORS, read_only=True, json_name=json_name, member=member
    )


RESOURCE_METADATA = ResourceType(
    "ResourceMetadata",
    (
        Attr("id", Kind.URI, read_only=True),
        Attr("name", Kind.TEXT, read_only=True),
        # NOTE(gw): DSP0263 and Deltacloud write typeUri; DSP8009 typeURI.
        Attr("typeUri", Kind.URI, read_only=True),
        _descriptors("attribute", "attributes", ATTRIBUTE_METADATA),
        _descriptors("capability", "capabilities", CAPABILITY_METADATA),
        _descriptors("action", "actions", ACTION_METADATA),
        OPERATIONS,
    ),
    collection_key="resourceMetadata",
    path="resource_metadata",
    entry_point_key="resourceMetadata",
)


def capability_uri(rtype: ResourceType, name: str) -> str:
    """Return the CIMI URI of capability ``name`` of ``rtype``."""
    return f"{NS}/capability/{rtype.name}/{name}"
