"""``{mount}/machine_configurations``: the cloud's sizes, read-only."""

from __future__ import annotations

import falcon

from gateway.cimi.schema import MACHINE_CONFIGURATION
from gateway.resources.links import Links
from providers.base import Provider


class MachineConfigurations:
    """The machine configurations of one provider.

    Args:
        provider: the cloud mounted here.
        mount: its URL prefix.
    """

    #: a cloud's sizes change rarely, and EC2's ~800 are slow to render.
    cache_seconds = 60

    def __init__(self, provider: Provider, mount: str) -> None:
        self.provider = provider
        self.mount = mount

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        configs = self.provider.list_machine_configurations(req.context.credentials)
        resp.media = Links(req, self.mount).collection_document(
            MACHINE_CONFIGURATION, configs, can_add=False
        )

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        config = self.provider.get_machine_configuration(req.context.credentials, id)
        resp.media = Links(req, self.mount).shown(MACHINE_CONFIGURATION, config)
