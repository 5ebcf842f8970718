"""What a cloud offers, read-only: configurations, and its networks.

Machine configurations (sizes), volume configurations (volume types) and
networks are one responder: a listing and a read. Configurations are served
from a per-worker cache for a minute (``cache_seconds``): they change with
the cloud's offer, rarely; networks are read each time.
"""

from __future__ import annotations

import falcon

from gateway.cimi.schema import MACHINE_CONFIGURATION
from gateway.cimi.schema import NETWORK
from gateway.cimi.schema import VOLUME_CONFIGURATION
from gateway.cimi.schema import ResourceType
from gateway.resources.mount import Mount


class ReadOnly:
    """One read-only collection of one provider.

    Args:
        mount: the provider mounted here.
        rtype: their type.
        lister: the provider's method name listing them.
        getter: the provider's method name reading one.
        cache_seconds: how long a rendered answer is served again; 0: never.
    """

    def __init__(
        self,
        mount: Mount,
        rtype: ResourceType,
        lister: str,
        getter: str,
        *,
        cache_seconds: int = 60,
    ) -> None:
        # A cloud's offer changes rarely, and EC2's ~800 sizes are slow to
        # render: the rendered answer is kept (``gateway/middleware.py``).
        self.cache_seconds = cache_seconds
        self.mount = mount
        self.rtype = rtype
        self.provider = mount.provider
        self.lister, self.getter = lister, getter

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        configs = getattr(self.provider, self.lister)(req.context.credentials)
        resp.media = self.mount.links(req).collection_document(
            self.rtype, configs, can_add=False
        )

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        config = getattr(self.provider, self.getter)(req.context.credentials, id)
        resp.media = self.mount.links(req).shown(self.rtype, config)


def machine_configurations(mount: Mount) -> ReadOnly:
    return ReadOnly(
        mount,
        MACHINE_CONFIGURATION,
        "list_machine_configurations",
        "get_machine_configuration",
    )


def volume_configurations(mount: Mount) -> ReadOnly:
    return ReadOnly(
        mount,
        VOLUME_CONFIGURATION,
        "list_volume_configurations",
        "get_volume_configuration",
    )


def networks(mount: Mount) -> ReadOnly:
    return ReadOnly(mount, NETWORK, "list_networks", "get_network", cache_seconds=0)
