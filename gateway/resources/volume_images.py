"""``{mount}/volume_images``: snapshots of volumes; list, read, make, delete."""

from __future__ import annotations

import functools

import falcon

from gateway.cimi.errors import BadRequest
from gateway.cimi.errors import NotFound
from gateway.cimi.schema import VOLUME
from gateway.cimi.schema import VOLUME_IMAGE
from gateway.cimi.schema import action_uri
from gateway.conditional import check_if_match
from gateway.listings import forgets_listings
from gateway.media import read
from gateway.resources.expansion import resolver
from gateway.resources.jobs import failed_job
from gateway.resources.listing import collection
from gateway.resources.mount import Mount
from providers.base import CAPTURE
from providers.families import ServesVolumeImages


class VolumeImages:
    """The volume images of one provider's tenant."""

    def __init__(self, mount: Mount) -> None:
        self.mount = mount
        self.provider: ServesVolumeImages = mount.provider  # type: ignore[assignment]
        self.jobs = mount.jobs

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        creds, links = req.context.credentials, self.mount.links(req)
        resp.media = collection(
            self.mount,
            req,
            VOLUME_IMAGE,
            functools.partial(self.provider.list_volume_images, creds),
            can_add=True,
            resolve=resolver(links, self.mount, creds),
        )

    @forgets_listings
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Snapshot a volume: the body's ``imageLocation`` names the volume."""
        links = self.mount.links(req)
        values = read(req, VOLUME_IMAGE)
        location = values["imageLocation"]
        volume_id = links.local_id(location, VOLUME)
        if volume_id is None:
            raise BadRequest(
                f"imageLocation: '{location}' is not a volume of {links.base_uri}"
            )
        creds = req.context.credentials
        namespace = self.mount.namespace(creds)
        target = (VOLUME.path, volume_id)
        try:
            with failed_job(resp, links, self.jobs, namespace, CAPTURE, target):
                image = self.provider.create_volume_image(creds, volume_id, values)
        except NotFound as ex:
            raise BadRequest(f"imageLocation: {ex.message}") from ex
        # The snapshot may be CREATING for a while: a job follows it there.
        job = self.jobs.record(
            namespace,
            action_uri(CAPTURE),
            (VOLUME_IMAGE.path, image["id"]),
            "AVAILABLE",
            state=image["state"],
        )
        resp.set_header("CIMI-Job-URI", links.item_of_job(job))
        resp.status = falcon.HTTP_201
        resp.location = links.item(VOLUME_IMAGE, image["id"])
        resp.media = links.document(VOLUME_IMAGE, image)

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        creds, links = req.context.credentials, self.mount.links(req)
        image = self.provider.get_volume_image(creds, id)
        resp.media = links.shown(
            VOLUME_IMAGE, image, resolver(links, self.mount, creds)
        )

    @forgets_listings
    def on_delete_item(
        self, req: falcon.Request, resp: falcon.Response, id: str
    ) -> None:
        creds = req.context.credentials
        # What the image is now settles the job that made it.
        image = self.provider.get_volume_image(creds, id)
        check_if_match(req, self.mount.links(req).document(VOLUME_IMAGE, image))
        target, namespace = (VOLUME_IMAGE.path, id), self.mount.namespace(creds)
        self.jobs.observe(namespace, target, image["state"])
        self.provider.delete_volume_image(creds, id)
        self.jobs.cancel(namespace, target, "the image was deleted before it was ready")
        resp.status = falcon.HTTP_200
