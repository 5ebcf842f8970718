"""``{mount}/resource_metadata``: what this mount serves, and what it can do.

One member per resource type served, Machine's first. Everything in it is
derived from the provider's family declarations (``providers/families.py``)
and from the gateway's own features (the query language, conditional
requests, job retention): nothing is written per provider.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import falcon

from gateway.cimi import filter as cimi_filter
from gateway.cimi.errors import NotFound
from gateway.cimi.query import EXPANDABLE
from gateway.cimi.schema import CLOUD_ENTRY_POINT
from gateway.cimi.schema import JOB
from gateway.cimi.schema import MACHINE
from gateway.cimi.schema import MACHINE_IMAGE
from gateway.cimi.schema import RESOURCE_METADATA
from gateway.cimi.schema import VOLUME
from gateway.cimi.schema import ResourceType
from gateway.cimi.schema import action_uri
from gateway.cimi.schema import capability_uri
from gateway.resources.mount import Mount
from providers.base import CAPTURE
from providers.base import KIB_PER_GIB
from providers.families import ServesMachines
from providers.families import ServesVolumeImages
from providers.families import ServesVolumes
from providers.families import machine_actions

#: the namespace of the attributes Deltacloud added to its entry point.
DELTACLOUD_NS = "http://deltacloud.org/cimi"
_WORD = re.compile(r"(?<!^)(?=[A-Z])")


def metadata_id(rtype: ResourceType) -> str:
    """Return the member id of ``rtype``'s metadata (Deltacloud's: ``machine``)."""
    return _WORD.sub("_", rtype.name).lower()


def capability(rtype: ResourceType, name: str, value: object, description: str) -> dict:
    if isinstance(value, bool):
        value = "true" if value else "false"
    return {
        "name": name,
        "uri": capability_uri(rtype, name),
        "description": description,
        "value": str(value),
    }


def query_capabilities(rtype: ResourceType) -> list[dict]:
    """The query parameters every collection of ``rtype`` takes."""
    references = [a.name for a in rtype.attrs if a.kind in EXPANDABLE]
    return [
        capability(
            rtype,
            "FilterParameterQuery",
            True,
            "$filter: DSP0263's grammar, typed by this type's attributes",
        ),
        capability(
            rtype,
            "FilterExtensions",
            ",".join(cimi_filter.EXTENSIONS),
            "$filter beyond the core: attr=null, ^= (starts with), not(...)",
        ),
        capability(
            rtype,
            "FirstParameterAndLastParameterQuery",
            True,
            "$first and $last, 1-based and inclusive, after filter and order",
        ),
        capability(
            rtype,
            "OrderByParameterQuery",
            True,
            "$orderby=attr[:asc|:desc], several keys",
        ),
        capability(rtype, "SelectParameterQuery", True, "$select=attr,... or *"),
        capability(
            rtype,
            "ExpandParameterQuery",
            ",".join(references) or False,
            "$expand: the references inlined, one level",
        ),
        capability(rtype, "FormatParameterQuery", True, "$format=xml|json"),
        capability(
            rtype,
            "ConditionalRequests",
            "If-None-Match,If-Match",
            "ETag on every read; 304 on If-None-Match, 412 on a stale If-Match",
        ),
    ]


def machine_metadata(mount: Mount) -> dict:
    provider = mount.provider
    assert isinstance(provider, ServesMachines)
    states = provider.initial_states
    capabilities = [
        capability(
            MACHINE,
            "DefaultInitialState",
            states[0],
            "the state a new machine settles in unless told otherwise",
        ),
        capability(
            MACHINE,
            "InitialStates",
            ",".join(states),
            "the states a MachineTemplate's initialState may name",
        ),
        capability(
            MACHINE,
            "MachineConfigByValue",
            True,
            "a MachineTemplate may give its machineConfig by value (cpu, memory)",
        ),
        capability(
            MACHINE,
            "MachineImageByValue",
            False,
            "a machineImage must be given by reference",
        ),
        capability(
            MACHINE,
            "MachineTemplateByValue",
            True,
            "a MachineCreate may give its machineTemplate by value",
        ),
        capability(
            MACHINE,
            "UserData",
            provider.takes_user_data,
            "a MachineTemplate's userData reaches the machine",
        ),
        capability(
            MACHINE,
            "MachineStopForce",
            provider.forces_stop,
            "a stop Action's force reaches the cloud",
        ),
    ]
    actions = [_action(name) for name in machine_actions(provider)]
    return {"capability": capabilities, "action": actions}


def _action(name: str) -> dict:
    if name == CAPTURE:
        # Capture is a POST of a MachineImage to the images collection.
        return {
            "name": name,
            "uri": action_uri(name),
            "description": "make a MachineImage of the machine",
            "method": "POST",
            "inputMessage": "MachineImage",
            "outputMessage": "MachineImage",
        }
    return {
        "name": name,
        "uri": action_uri(name),
        "description": f"{name} the machine",
        "method": "POST",
        "inputMessage": "Action",
        "outputMessage": "Job",
    }


def image_metadata(mount: Mount) -> dict:
    can = CAPTURE in machine_actions(mount.provider)
    return {
        "capability": [
            capability(
                MACHINE_IMAGE,
                "Capture",
                can,
                "images are made by POSTing a MachineImage naming a machine",
            )
        ]
    }


def job_metadata(mount: Mount) -> dict:
    seconds = int(mount.jobs.retention.total_seconds())
    return {
        "capability": [
            capability(JOB, "JobRetention", seconds, "seconds a job is kept")
        ]
    }


def entry_point_metadata(mount: Mount) -> dict:
    return {
        "attribute": [
            {
                "name": name,
                "namespace": f"{DELTACLOUD_NS}/CloudEntryPoint/{name}",
                "type": "text",
                "required": False,
            }
            for name in ("driver", "provider")
        ],
        "capability": [
            capability(
                CLOUD_ENTRY_POINT,
                "OpenDiscovery",
                mount.open_discovery,
                "the entry point and ResourceMetadata answer without credentials",
            )
        ],
    }


def volume_metadata(mount: Mount) -> dict:
    provider = mount.provider
    assert isinstance(provider, ServesVolumes)
    return {
        "capability": [
            capability(
                VOLUME,
                "MaxCapacity",
                provider.max_volume_gib * KIB_PER_GIB,
                "the largest capacity (KiB) a VolumeCreate may ask; capacities "
                "are rounded up to whole GiB",
            ),
            capability(
                VOLUME,
                "VolumeConfigByValue",
                True,
                "a VolumeTemplate may give its volumeConfig by value (capacity, type)",
            ),
            capability(
                VOLUME,
                "VolumeImageRestore",
                isinstance(provider, ServesVolumeImages),
                "a VolumeTemplate's volumeImage is restored into the new volume",
            ),
        ]
    }


#: what a type's entry adds to the query parameters its collection takes.
_SPECIFIC = {
    MACHINE: machine_metadata,
    MACHINE_IMAGE: image_metadata,
    VOLUME: volume_metadata,
    JOB: job_metadata,
}


def describe(mount: Mount, served: Sequence[ResourceType]) -> list[dict]:
    """Return the metadata of each type served; Machine's first, the CEP's last."""
    ordered = sorted(served, key=lambda rtype: rtype is not MACHINE)
    members = []
    for rtype in ordered:
        specific = _SPECIFIC.get(rtype, lambda mount: {})(mount)
        capabilities = specific.get("capability", []) + query_capabilities(rtype)
        members.append(_member(rtype, {**specific, "capability": capabilities}))
    members.append(_member(CLOUD_ENTRY_POINT, entry_point_metadata(mount)))
    return members


def _member(rtype: ResourceType, values: dict) -> dict:
    return {
        "id": metadata_id(rtype),
        "name": rtype.name,
        "typeUri": rtype.type_uri,
        **values,
    }


class ResourceMetadataResource:
    """The ResourceMetadata collection of one mount; members by id."""

    def __init__(self, mount: Mount, served: Sequence[ResourceType]) -> None:
        self.mount = mount
        self.served = tuple(served)
        self.needs_credentials = not mount.open_discovery
        self.members = describe(mount, self.served)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.mount.links(req).collection_document(
            RESOURCE_METADATA, self.members, can_add=False
        )

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        for member in self.members:
            if member["id"] == id:
                resp.media = self.mount.links(req).shown(RESOURCE_METADATA, member)
                return
        raise NotFound(f"no resource metadata {id}")
