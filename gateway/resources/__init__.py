"""Falcon responders, one module per collection, and the routes of a mount.

``COLLECTIONS`` is the one table of what a mount can serve: each collection's
resource type, the provider families it needs, and its responder. A mount
serves the collections whose families its provider serves; its routes, entry
point and ResourceMetadata all come from that one list.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import falcon

from gateway.cimi.schema import ADDRESS
from gateway.cimi.schema import ADDRESS_TEMPLATE
from gateway.cimi.schema import CLOUD_ENTRY_POINT
from gateway.cimi.schema import CREDENTIAL
from gateway.cimi.schema import CREDENTIAL_TEMPLATE
from gateway.cimi.schema import ENTRY_POINT_COLLECTIONS
from gateway.cimi.schema import JOB
from gateway.cimi.schema import MACHINE
from gateway.cimi.schema import MACHINE_CONFIGURATION
from gateway.cimi.schema import MACHINE_IMAGE
from gateway.cimi.schema import MACHINE_TEMPLATE
from gateway.cimi.schema import MACHINE_VOLUME
from gateway.cimi.schema import NETWORK
from gateway.cimi.schema import RESOURCE_METADATA
from gateway.cimi.schema import SYSTEM
from gateway.cimi.schema import SYSTEM_TEMPLATE
from gateway.cimi.schema import VOLUME
from gateway.cimi.schema import VOLUME_CONFIGURATION
from gateway.cimi.schema import VOLUME_IMAGE
from gateway.cimi.schema import VOLUME_TEMPLATE
from gateway.cimi.schema import ResourceType
from gateway.resources.addresses import Addresses
from gateway.resources.addresses import AddressTemplates
from gateway.resources.cloud_entry_point import CloudEntryPoint
from gateway.resources.credentials import Credentials
from gateway.resources.credentials import CredentialTemplates
from gateway.resources.jobs import JobsResource
from gateway.resources.machine_images import MachineImages
from gateway.resources.machine_templates import MachineTemplates
from gateway.resources.machine_volumes import MachineVolumes
from gateway.resources.machines import Machines
from gateway.resources.mount import Mount
from gateway.resources.read_only import machine_configurations
from gateway.resources.read_only import networks
from gateway.resources.read_only import volume_configurations
from gateway.resources.resource_metadata import ResourceMetadataResource
from gateway.resources.system_runs import advancer
from gateway.resources.system_templates import SystemTemplates
from gateway.resources.systems import SystemComponents
from gateway.resources.systems import Systems
from gateway.resources.volume_images import VolumeImages
from gateway.resources.volume_templates import VolumeTemplates
from gateway.resources.volumes import Volumes
from providers.families import ServesAddresses
from providers.families import ServesCredentials
from providers.families import ServesMachineConfigurations
from providers.families import ServesMachineImages
from providers.families import ServesMachines
from providers.families import ServesMachineVolumes
from providers.families import ServesNetworks
from providers.families import ServesVolumeImages
from providers.families import ServesVolumes
from providers.families import serves


@dataclass(frozen=True)
class Collection:
    """A collection a mount may serve.

    Args:
        rtype: the type of its members.
        needs: the provider families it needs; none: the gateway's own.
        responder: builds its responder for a mount.
    """

    rtype: ResourceType
    needs: tuple[type, ...]
    responder: Callable[[Mount], object]


COLLECTIONS = (
    Collection(MACHINE, (ServesMachines,), Machines),
    Collection(
        MACHINE_TEMPLATE,
        (ServesMachines, ServesMachineConfigurations, ServesMachineImages),
        MachineTemplates,
    ),
    Collection(
        MACHINE_CONFIGURATION, (ServesMachineConfigurations,), machine_configurations
    ),
    Collection(MACHINE_IMAGE, (ServesMachineImages,), MachineImages),
    Collection(CREDENTIAL, (ServesCredentials,), Credentials),
    Collection(CREDENTIAL_TEMPLATE, (ServesCredentials,), CredentialTemplates),
    Collection(VOLUME, (ServesVolumes,), Volumes),
    Collection(VOLUME_TEMPLATE, (ServesVolumes,), VolumeTemplates),
    Collection(VOLUME_CONFIGURATION, (ServesVolumes,), volume_configurations),
    Collection(VOLUME_IMAGE, (ServesVolumes, ServesVolumeImages), VolumeImages),
    Collection(NETWORK, (ServesNetworks,), networks),
    Collection(ADDRESS, (ServesAddresses,), Addresses),
    Collection(ADDRESS_TEMPLATE, (ServesAddresses,), AddressTemplates),
    Collection(SYSTEM, (ServesMachines,), Systems),
    Collection(SYSTEM_TEMPLATE, (ServesMachines,), SystemTemplates),
    # A parent job's later phases are started by its readers (system_runs).
    Collection(JOB, (), functools.partial(JobsResource, advancer=advancer)),
)


#: what a mount needs to serve its machines' volumes.
MACHINE_VOLUMES_NEED = (ServesMachines, ServesVolumes, ServesMachineVolumes)


def served(mount: Mount) -> list[Collection]:
    """Return the collections ``mount``'s provider serves, in entry point order."""
    found = [c for c in COLLECTIONS if serves(mount.provider, *c.needs)]
    return sorted(
        found, key=lambda c: ENTRY_POINT_COLLECTIONS.index(c.rtype.entry_point_key)
    )


def add_routes(app: falcon.App, mount: Mount) -> None:
    """Serve ``mount``: its entry point, metadata and collections."""
    collections = served(mount)
    types = [c.rtype for c in collections]
    volumes = MACHINE in types and serves(mount.provider, *MACHINE_VOLUMES_NEED)
    routes: dict[ResourceType, object] = {
        # A machine's volumes have metadata but no entry point key.
        RESOURCE_METADATA: ResourceMetadataResource(
            mount, types + [MACHINE_VOLUME] * volumes
        ),
        **{c.rtype: c.responder(mount) for c in collections},
    }
    entry_point = CloudEntryPoint(mount, list(routes))
    answer_head_like_get(entry_point)
    app.add_route(mount.path, entry_point, suffix="root")
    app.add_route(f"{mount.path}/{CLOUD_ENTRY_POINT.path}", entry_point)
    for rtype, resource in routes.items():
        answer_head_like_get(resource)
        app.add_route(f"{mount.path}/{rtype.path}", resource)
        app.add_route(f"{mount.path}/{rtype.path}/{{id}}", resource, suffix="item")
    if ADDRESS in routes:
        app.add_route(
            f"{mount.path}/{ADDRESS.path}/{{id}}/{{action}}",
            routes[ADDRESS],
            suffix="action",
        )
    if SYSTEM in routes:
        system = f"{mount.path}/{SYSTEM.path}/{{id}}"
        app.add_route(f"{system}/{{action}}", routes[SYSTEM], suffix="action")
        for group in mount.sub_collections[SYSTEM]:
            components = SystemComponents(mount, group)
            answer_head_like_get(components)
            app.add_route(f"{system}/{group}", components)
            app.add_route(f"{system}/{group}/{{component}}", components, suffix="item")
    if MACHINE in routes:
        machine = f"{mount.path}/{MACHINE.path}/{{id}}"
        app.add_route(f"{machine}/{{action}}", routes[MACHINE], suffix="action")
        if volumes:
            attached = MachineVolumes(mount)
            answer_head_like_get(attached)
            app.add_route(f"{machine}/{MACHINE_VOLUME.path}", attached)
            app.add_route(
                f"{machine}/{MACHINE_VOLUME.path}/{{volume}}", attached, suffix="item"
            )
            app.add_route(f"{machine}/volume_attach", attached, suffix="attach")


def answer_head_like_get(resource: object) -> None:
    """Let HEAD ask whatever GET answers (Falcon sends the headers, no body)."""
    for suffix in ("", "_item", "_root"):
        get = getattr(resource, f"on_get{suffix}", None)
        if get is not None and not hasattr(resource, f"on_head{suffix}"):
            setattr(resource, f"on_head{suffix}", get)
