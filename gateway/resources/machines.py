"""``{mount}/machines``: list and read (what capture needs)."""

from __future__ import annotations

import falcon

from gateway.cimi.schema import MACHINE
from gateway.resources.links import Links
from providers.base import Provider


class Machines:
    """The machines of one provider.

    Args:
        provider: the cloud mounted here.
        mount: its URL prefix.
    """

    def __init__(self, provider: Provider, mount: str) -> None:
        self.provider = provider
        self.mount = mount

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        machines = self.provider.list_machines(req.context.credentials)
        resp.media = Links(req, self.mount).collection_document(
            MACHINE, machines, can_add=False
        )

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        machine = self.provider.get_machine(req.context.credentials, id)
        resp.media = Links(req, self.mount).document(MACHINE, machine)
