"""``{mount}/machines/{id}/volumes``: the volumes attached to a machine.

POST a MachineVolume (``initialLocation``, the device, and ``volume``, the
volume's href) to attach; DELETE the MachineVolume to detach. Both answer
with a Job, as the cloud attaches in its own time. Deltacloud's clients POST
to ``{mount}/machines/{id}/volume_attach``: that is served too.
"""

from __future__ import annotations

import functools
from urllib.parse import quote

import falcon

from gateway.cimi.errors import BadRequest
from gateway.cimi.errors import NotFound
from gateway.cimi.schema import MACHINE
from gateway.cimi.schema import MACHINE_VOLUME
from gateway.cimi.schema import VOLUME
from gateway.cimi.schema import Document
from gateway.cimi.schema import action_uri
from gateway.conditional import check_if_match
from gateway.jobs import GONE
from gateway.listings import forgets_listings
from gateway.media import read
from gateway.resources.expansion import resolver
from gateway.resources.jobs import answer_with_job
from gateway.resources.jobs import failed_job
from gateway.resources.jobs import machine_volumes_path
from gateway.resources.links import Links
from gateway.resources.mount import Mount
from providers.families import ServesMachineVolumes

ATTACH, DETACH = "attach", "detach"


class MachineVolumes:
    """The MachineVolume collections of one provider's machines."""

    def __init__(self, mount: Mount) -> None:
        self.mount = mount
        self.provider: ServesMachineVolumes = mount.provider  # type: ignore[assignment]
        self.jobs = mount.jobs

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        creds, links = req.context.credentials, self.mount.links(req)
        attached = self.provider.list_machine_volumes(creds, id)
        resp.media = links.collection_document(
            MACHINE_VOLUME,
            attached,
            can_add=True,
            resolve=resolver(links, self.mount, creds),
            url=_collection(links, id),
            link=functools.partial(_values, links, id),
        )

    @forgets_listings
    def on_post(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        """Attach the volume a MachineVolume names to machine ``id``."""
        creds, links = req.context.credentials, self.mount.links(req)
        values = read(req, MACHINE_VOLUME)
        href = values["volume"].get("href")
        volume_id = links.local_id(href, VOLUME) if href else None
        if volume_id is None:
            raise BadRequest(f"volume: give the href of a volume of {links.base_uri}")
        device = values.get("initialLocation", "")
        namespace = self.mount.namespace(creds)
        target = (machine_volumes_path(id), volume_id)
        # The machine in the URL first: missing, it is the 404; what else is
        # missing is the volume the body names, a 400.
        self.mount.provider.get_machine(creds, id)  # type: ignore[attr-defined]
        try:
            with failed_job(resp, links, self.jobs, namespace, ATTACH, target):
                attached = self.provider.attach_volume(creds, id, volume_id, device)
        except NotFound as ex:
            raise BadRequest(f"volume: {ex.message}") from ex
        job = self.jobs.record(
            namespace,
            action_uri(ATTACH),
            target,
            "ATTACHED",
            state=attached["state"],
        )
        resp.set_header("CIMI-Job-URI", links.item_of_job(job))
        resp.status = falcon.HTTP_201
        values = _values(links, id, attached)
        resp.location = values["id"]
        resp.media = Document(MACHINE_VOLUME, values)

    def on_get_item(
        self, req: falcon.Request, resp: falcon.Response, id: str, volume: str
    ) -> None:
        creds, links = req.context.credentials, self.mount.links(req)
        attached = self.provider.get_machine_volume(creds, id, volume)
        resp.media = links.shown_values(
            MACHINE_VOLUME,
            _values(links, id, attached),
            resolver(links, self.mount, creds),
        )

    @forgets_listings
    def on_delete_item(
        self, req: falcon.Request, resp: falcon.Response, id: str, volume: str
    ) -> None:
        """Detach the volume."""
        creds, links = req.context.credentials, self.mount.links(req)
        namespace = self.mount.namespace(creds)
        target = (machine_volumes_path(id), volume)
        with failed_job(resp, links, self.jobs, namespace, DETACH, target, GONE):
            attached = self.provider.get_machine_volume(creds, id, volume)
            check_if_match(req, Document(MACHINE_VOLUME, _values(links, id, attached)))
            self.jobs.observe(namespace, target, attached["state"])
            self.provider.detach_volume(creds, id, volume)
        self.jobs.cancel(namespace, target, "the volume was detached meanwhile")
        job = self.jobs.record(namespace, action_uri(DETACH), target, GONE)
        answer_with_job(resp, links, job)

    # Deltacloud's attach href: {mount}/machines/{id}/volume_attach.
    on_post_attach = on_post


def _collection(links: Links, machine_id: str) -> str:
    return f"{links.item(MACHINE, machine_id)}/{MACHINE_VOLUME.path}"


def _values(links: Links, machine_id: str, answer: dict) -> dict:
    """Return a provider's machine volume with its URL, hrefs and operations."""
    url = f"{_collection(links, machine_id)}/{quote(answer['id'], safe='')}"
    values = dict(answer)
    values["id"] = url
    values["volume"] = {"href": links.item(VOLUME, answer["volume"])}
    values["operation"] = [(name, url) for name in answer.get("operations", ())]
    return values
