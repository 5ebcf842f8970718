"""``{mount}/volumes``: the whole life of a volume.

Create (from a VolumeCreate whose template is referenced or given by value,
maybe restoring a volume image), read, edit, delete. What the cloud does
asynchronously answers with a Job in ``CIMI-Job-URI``, as machines do.
"""

from __future__ import annotations

import functools

import falcon

from gateway.cimi.errors import BadRequest
from gateway.cimi.schema import VOLUME
from gateway.cimi.schema import VOLUME_CREATE
from gateway.cimi.schema import Document
from gateway.cimi.schema import action_uri
from gateway.conditional import check_if_match
from gateway.jobs import GONE
from gateway.listings import forgets_listings
from gateway.media import read
from gateway.resources import references
from gateway.resources.edits import check_read_only
from gateway.resources.jobs import answer_with_job
from gateway.resources.jobs import failed_job
from gateway.resources.links import Links
from gateway.resources.listing import collection
from gateway.resources.mount import Mount
from gateway.resources.volume_templates import VOLUME_TEMPLATES
from providers.base import Credentials
from providers.base import VolumeSpec
from providers.families import ServesVolumeImages
from providers.families import ServesVolumes

_EDITABLE = ("name", "description", "property")


class Volumes:
    """The volumes of one provider."""

    def __init__(self, mount: Mount) -> None:
        self.mount = mount
        self.provider: ServesVolumes = mount.provider  # type: ignore[assignment]
        self.jobs = mount.jobs

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        creds = req.context.credentials
        resp.media = collection(
            self.mount,
            req,
            VOLUME,
            functools.partial(self.provider.list_volumes, creds),
            can_add=True,
        )

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        volume = self.provider.get_volume(req.context.credentials, id)
        resp.media = self.mount.links(req).shown(VOLUME, volume)

    @forgets_listings
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Create a volume from a VolumeCreate."""
        creds, links = req.context.credentials, self.mount.links(req)
        namespace = self.mount.namespace(creds)
        values = read(req, VOLUME_CREATE)
        template = VOLUME_TEMPLATES.merged(
            self.mount.store,
            namespace,
            links,
            "volumeTemplate",
            values["volumeTemplate"],
        )
        spec = volume_spec(self.provider, links, creds, template, values)
        with failed_job(resp, links, self.jobs, namespace, "add", None):
            volume = self.provider.create_volume(creds, spec)
        job = self.jobs.record(
            namespace,
            action_uri("add"),
            (VOLUME.path, volume["id"]),
            "AVAILABLE",
            state=volume["state"],
        )
        resp.set_header("CIMI-Job-URI", links.item_of_job(job))
        resp.status = falcon.HTTP_201
        resp.location = links.item(VOLUME, volume["id"])
        resp.media = links.document(VOLUME, volume)

    @forgets_listings
    def on_put_item(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        """Edit a volume's name, description and properties."""
        creds, links = req.context.credentials, self.mount.links(req)
        given = read(req, VOLUME, read_only=True)
        current = links.values(VOLUME, self.provider.get_volume(creds, id))
        check_if_match(req, Document(VOLUME, current))
        check_read_only(links, VOLUME, given, current)
        edits = {name: given[name] for name in _EDITABLE if name in given}
        volume = self.provider.edit_volume(creds, id, edits)
        resp.media = links.document(VOLUME, volume)

    @forgets_listings
    def on_delete_item(
        self, req: falcon.Request, resp: falcon.Response, id: str
    ) -> None:
        creds, links = req.context.credentials, self.mount.links(req)
        namespace, target = self.mount.namespace(creds), (VOLUME.path, id)
        with failed_job(resp, links, self.jobs, namespace, "delete", target, GONE):
            volume = self.provider.get_volume(creds, id)
            check_if_match(req, links.document(VOLUME, volume))
            self.jobs.observe(namespace, target, volume["state"])
            self.provider.delete_volume(creds, id)
        self.jobs.cancel(namespace, target, "the volume was deleted meanwhile")
        job = self.jobs.record(namespace, action_uri("delete"), target, GONE)
        answer_with_job(resp, links, job)


# -- VolumeCreate -------------------------------------------------------------


def volume_spec(
    provider: ServesVolumes,
    links: Links,
    creds: Credentials,
    template: dict,
    values: dict,
) -> VolumeSpec:
    """Return what the provider needs to make a volume, or say what is wrong.

    Args:
        template: the volume template's values as stored (references as
            local ids), checked here against the cloud.
        values: the create's own name, description and properties, which
            win over the template's.

    Raises:
        BadRequest: naming what the cloud lacks.
    """
    image = None
    if isinstance(provider, ServesVolumeImages):
        image = references.volume_image(
            provider, links, creds, template.get("volumeImage")
        )
    elif "volumeImage" in template:
        raise BadRequest("volumeImage: this cloud restores no volume images")
    if "volumeConfig" not in template and image is None:
        raise BadRequest("volumeTemplate.volumeConfig: required")
    config = references.volume_config(
        provider, links, creds, template.get("volumeConfig")
    )
    capacity = config.get("capacity") or 0
    if image is not None:
        least = image.get("capacity") or 0
        if not _capacity_given(template):
            # Restored whole: at least the size of the volume it came from.
            capacity = max(capacity, least)
        elif isinstance(capacity, int) and 0 < capacity < least:
            raise BadRequest(
                f"capacity: {capacity} KiB is less than the volume image's {least} KiB"
            )
    return VolumeSpec(
        config_id=config["id"],
        capacity=references.capacity_gib(provider, capacity),
        image_id=image["id"] if image else "",
        name=values.get("name", template.get("name", "")),
        description=values.get("description", template.get("description", "")),
        properties=values.get("property", template.get("property", {})),
    )


def _capacity_given(template: dict) -> bool:
    config = template.get("volumeConfig") or {}
    return "capacity" in config.get("value", {})
