"""``{mount}/machine_images``: list, read, capture, delete."""

from __future__ import annotations

import falcon

from gateway.cimi.errors import BadRequest
from gateway.cimi.errors import NotFound
from gateway.cimi.schema import MACHINE
from gateway.cimi.schema import MACHINE_IMAGE
from gateway.media import read
from gateway.resources.links import Links
from providers.base import Provider


class MachineImages:
    """The machine images of one provider.

    Args:
        provider: the cloud mounted here.
        mount: its URL prefix.
    """

    def __init__(self, provider: Provider, mount: str) -> None:
        self.provider = provider
        self.mount = mount

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        images = self.provider.list_machine_images(req.context.credentials)
        resp.media = Links(req, self.mount).collection_document(
            MACHINE_IMAGE, images, can_add=True
        )

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Capture a machine: the body's ``imageLocation`` names the machine."""
        links = Links(req, self.mount)
        values = read(req, MACHINE_IMAGE)
        location = values["imageLocation"]
        machine_id = links.local_id(location, MACHINE)
        if machine_id is None:
            raise BadRequest(
                f"imageLocation: '{location}' is not a machine of {links.base_uri}"
            )
        if values.get("type", "IMAGE") != "IMAGE":
            raise BadRequest(
                f"type: capturing a machine makes an IMAGE, not a {values['type']}"
            )
        try:
            image = self.provider.capture(req.context.credentials, machine_id, values)
        except NotFound as ex:
            raise BadRequest(f"imageLocation: {ex.message}") from ex
        resp.status = falcon.HTTP_201
        resp.location = links.item(MACHINE_IMAGE, image["id"])
        resp.media = links.document(MACHINE_IMAGE, image)

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        image = self.provider.get_machine_image(req.context.credentials, id)
        resp.media = Links(req, self.mount).document(MACHINE_IMAGE, image)

    def on_delete_item(
        self, req: falcon.Request, resp: falcon.Response, id: str
    ) -> None:
        self.provider.delete_machine_image(req.context.credentials, id)
        resp.status = falcon.HTTP_200
