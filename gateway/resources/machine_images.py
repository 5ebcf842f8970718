"""``{mount}/machine_images``: list, read, capture, delete."""

from __future__ import annotations

import functools

import falcon

from gateway.cimi.errors import BadRequest
from gateway.cimi.errors import NotFound
from gateway.cimi.schema import MACHINE
from gateway.cimi.schema import MACHINE_IMAGE
from gateway.conditional import check_if_match
from gateway.listings import forgets_listings
from gateway.media import read
from gateway.resources.expansion import resolver
from gateway.resources.jobs import failed_job
from gateway.resources.jobs import record_capture
from gateway.resources.listing import collection
from gateway.resources.mount import Mount
from providers.base import CAPTURE
from providers.families import ServesMachineImages
from providers.families import machine_actions


def capturing(provider: object) -> bool:
    """Tell whether images are made here by capturing machines."""
    return CAPTURE in machine_actions(provider)


class MachineImages:
    """The machine images of one provider."""

    def __init__(self, mount: Mount) -> None:
        self.mount = mount
        self.provider: ServesMachineImages = mount.provider  # type: ignore[assignment]
        self.jobs = mount.jobs

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        creds, links = req.context.credentials, self.mount.links(req)
        resp.media = collection(
            self.mount,
            req,
            MACHINE_IMAGE,
            functools.partial(self.provider.list_machine_images, creds),
            pager=functools.partial(self.provider.page_machine_images, creds),
            can_add=capturing(self.mount.provider),
            resolve=resolver(links, self.mount, creds),
        )

    @forgets_listings
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Capture a machine: the body's ``imageLocation`` names the machine."""
        if not capturing(self.mount.provider):
            raise falcon.HTTPMethodNotAllowed(
                ["GET", "HEAD"], description="this cloud does not capture machines"
            )
        links = self.mount.links(req)
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
        creds = req.context.credentials
        namespace = self.mount.namespace(creds)
        try:
            with failed_job(
                resp, links, self.jobs, namespace, CAPTURE, (MACHINE.path, machine_id)
            ):
                image = self.provider.capture(creds, machine_id, values)
        except NotFound as ex:
            raise BadRequest(f"imageLocation: {ex.message}") from ex
        # The image may be CREATING for a while: a job follows it there.
        job = record_capture(self.jobs, namespace, image)
        resp.set_header("CIMI-Job-URI", links.item_of_job(job))
        resp.status = falcon.HTTP_201
        resp.location = links.item(MACHINE_IMAGE, image["id"])
        resp.media = links.document(MACHINE_IMAGE, image)

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        creds, links = req.context.credentials, self.mount.links(req)
        image = self.provider.get_machine_image(creds, id)
        resp.media = links.shown(
            MACHINE_IMAGE, image, resolver(links, self.mount, creds)
        )

    @forgets_listings
    def on_delete_item(
        self, req: falcon.Request, resp: falcon.Response, id: str
    ) -> None:
        creds = req.context.credentials
        # What the image is now settles the capture job that made it.
        image = self.provider.get_machine_image(creds, id)
        check_if_match(req, self.mount.links(req).document(MACHINE_IMAGE, image))
        target, namespace = (MACHINE_IMAGE.path, id), self.mount.namespace(creds)
        self.jobs.observe(namespace, target, image["state"])
        self.provider.delete_machine_image(creds, id)
        self.jobs.cancel(namespace, target, "the image was deleted before it was ready")
        resp.status = falcon.HTTP_200
