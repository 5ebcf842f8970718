"""``{mount}/machine_configurations``: the cloud's sizes, read-only."""

from __future__ import annotations

import falcon

from gateway.cimi.schema import MACHINE_CONFIGURATION
from gateway.resources.mount import Mount
from providers.families import ServesMachineConfigurations


class MachineConfigurations:
    """The machine configurations of one provider."""

    #: a cloud's sizes change rarely, and EC2's ~800 are slow to render.
    cache_seconds = 60

    def __init__(self, mount: Mount) -> None:
        self.mount = mount
        self.provider: ServesMachineConfigurations = mount.provider  # type: ignore[assignment]

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        configs = self.provider.list_machine_configurations(req.context.credentials)
        resp.media = self.mount.links(req).collection_document(
            MACHINE_CONFIGURATION, configs, can_add=False
        )

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        config = self.provider.get_machine_configuration(req.context.credentials, id)
        resp.media = self.mount.links(req).shown(MACHINE_CONFIGURATION, config)
