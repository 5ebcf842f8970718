"""Falcon responders, one module per collection, and the routes of a mount."""

from __future__ import annotations

import falcon

from gateway.cimi.schema import CLOUD_ENTRY_POINT
from gateway.cimi.schema import JOB
from gateway.cimi.schema import MACHINE
from gateway.cimi.schema import MACHINE_CONFIGURATION
from gateway.cimi.schema import MACHINE_IMAGE
from gateway.cimi.schema import MACHINE_TEMPLATE
from gateway.jobs import Jobs
from gateway.resources.cloud_entry_point import CloudEntryPoint
from gateway.resources.jobs import JobsResource
from gateway.resources.machine_configurations import MachineConfigurations
from gateway.resources.machine_images import MachineImages
from gateway.resources.machine_templates import MachineTemplates
from gateway.resources.machines import Machines
from gateway.store import Store
from providers.base import Provider


def add_routes(
    app: falcon.App, mount: str, provider: Provider, store: Store, jobs: Jobs
) -> None:
    """Serve ``provider``'s collections under ``mount``."""
    collections = {
        MACHINE: Machines(provider, mount, store, jobs),
        MACHINE_TEMPLATE: MachineTemplates(provider, mount, store),
        MACHINE_CONFIGURATION: MachineConfigurations(provider, mount),
        MACHINE_IMAGE: MachineImages(provider, mount, jobs),
        JOB: JobsResource(provider, mount, jobs),
    }
    entry_point = CloudEntryPoint(provider, mount, tuple(collections))
    answer_head_like_get(entry_point)
    app.add_route(mount, entry_point, suffix="root")
    app.add_route(f"{mount}/{CLOUD_ENTRY_POINT.path}", entry_point)
    for rtype, resource in collections.items():
        answer_head_like_get(resource)
        app.add_route(f"{mount}/{rtype.path}", resource)
        app.add_route(f"{mount}/{rtype.path}/{{id}}", resource, suffix="item")
    machines = collections[MACHINE]
    app.add_route(
        f"{mount}/{MACHINE.path}/{{id}}/{{action}}", machines, suffix="action"
    )


def answer_head_like_get(resource: object) -> None:
    """Let HEAD ask whatever GET answers (Falcon sends the headers, no body)."""
    for suffix in ("", "_item", "_root"):
        get = getattr(resource, f"on_get{suffix}", None)
        if get is not None and not hasattr(resource, f"on_head{suffix}"):
            setattr(resource, f"on_head{suffix}", get)
