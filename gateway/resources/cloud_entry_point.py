"""``GET {mount}/cloudEntryPoint``: where a client starts."""

from __future__ import annotations

import falcon

from gateway.cimi.schema import CLOUD_ENTRY_POINT
from gateway.cimi.schema import Document
from gateway.cimi.schema import ResourceType
from gateway.resources.links import Links
from providers.base import Provider


class CloudEntryPoint:
    """The entry point of one mounted provider; links what is served.

    Args:
        provider: the cloud mounted here.
        mount: its URL prefix.
        served: the resource types whose collections this mount serves.
    """

    def __init__(
        self, provider: Provider, mount: str, served: tuple[ResourceType, ...]
    ) -> None:
        self.provider = provider
        self.mount = mount
        self.served = served

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        links = Links(req, self.mount)
        about = self.provider.entry_point(req.context.credentials)
        values = {
            "id": links.collection(CLOUD_ENTRY_POINT),
            **about,
            "baseURI": links.base_uri,
        }
        for rtype in self.served:
            values[rtype.entry_point_key] = links.collection(rtype)
        resp.media = Document(CLOUD_ENTRY_POINT, values)

    def on_get_root(self, req: falcon.Request, resp: falcon.Response) -> None:
        # Deltacloud answered GET /cimi/ with a redirect to the entry point.
        raise falcon.HTTPMovedPermanently(
            Links(req, self.mount).collection(CLOUD_ENTRY_POINT)
        )
