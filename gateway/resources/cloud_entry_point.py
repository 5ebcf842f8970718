"""``GET {mount}/cloudEntryPoint``: where a client starts."""

from __future__ import annotations

from collections.abc import Sequence

import falcon

from gateway.cimi.schema import CLOUD_ENTRY_POINT
from gateway.cimi.schema import Document
from gateway.cimi.schema import ResourceType
from gateway.resources.mount import Mount


class CloudEntryPoint:
    """The entry point of one mount; links the collections it serves.

    It asks no cloud, and the store once per worker (the mount's date). By
    default it answers without credentials, as Deltacloud's did (discovery
    comes before login).

    Args:
        mount: the provider mounted here.
        served: the resource types whose collections this mount serves.
    """

    def __init__(self, mount: Mount, served: Sequence[ResourceType]) -> None:
        self.mount = mount
        self.served = tuple(served)
        self.needs_credentials = not mount.open_discovery
        provider = mount.provider
        self.about = {
            **provider.describe(),
            "driver": provider.kind,
            "provider": provider.name,
        }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        links = self.mount.links(req)
        values = {
            "id": links.collection(CLOUD_ENTRY_POINT),
            **self.about,
            "created": self.mount.created(),
            "baseURI": links.base_uri,
        }
        for rtype in self.served:
            values[rtype.entry_point_key] = links.collection(rtype)
        resp.media = Document(CLOUD_ENTRY_POINT, values)

    def on_get_root(self, req: falcon.Request, resp: falcon.Response) -> None:
        # Deltacloud answered GET /cimi/ with a redirect to the entry point.
        raise falcon.HTTPMovedPermanently(
            self.mount.links(req).collection(CLOUD_ENTRY_POINT)
        )
