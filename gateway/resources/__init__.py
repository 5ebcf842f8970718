"""Falcon responders, one module per collection, and the routes of a mount."""

from __future__ import annotations

import falcon

from gateway.cimi.schema import CLOUD_ENTRY_POINT
from gateway.cimi.schema import MACHINE
from gateway.cimi.schema import MACHINE_IMAGE
from gateway.resources.cloud_entry_point import CloudEntryPoint
from gateway.resources.machine_images import MachineImages
from gateway.resources.machines import Machines
from providers.base import Provider


def add_routes(app: falcon.App, mount: str, provider: Provider) -> None:
    """Serve ``provider``'s collections under ``mount``."""
    collections = ((MACHINE, Machines), (MACHINE_IMAGE, MachineImages))
    entry_point = CloudEntryPoint(provider, mount, tuple(t for t, _ in collections))
    app.add_route(mount, entry_point, suffix="root")
    app.add_route(f"{mount}/{CLOUD_ENTRY_POINT.path}", entry_point)
    for rtype, responder in collections:
        resource = responder(provider, mount)
        app.add_route(f"{mount}/{rtype.path}", resource)
        app.add_route(f"{mount}/{rtype.path}/{{id}}", resource, suffix="item")
