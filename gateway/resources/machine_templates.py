"""``{mount}/machine_templates``: templates the gateway keeps for its clients.

No cloud stores a MachineTemplate, so the gateway does, per tenant. A template
keeps its references as local ids (or a value given inline), so it renders
with whatever host the client uses next.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC
from datetime import datetime

import falcon

from gateway.cimi.errors import BadRequest
from gateway.cimi.errors import CimiError
from gateway.cimi.errors import Conflict
from gateway.cimi.errors import NotFound
from gateway.cimi.errors import PreconditionFailed
from gateway.cimi.schema import CREDENTIAL
from gateway.cimi.schema import MACHINE_CONFIGURATION
from gateway.cimi.schema import MACHINE_IMAGE
from gateway.cimi.schema import MACHINE_TEMPLATE
from gateway.cimi.schema import Document
from gateway.cimi.schema import ResourceType
from gateway.conditional import check_if_match
from gateway.media import read
from gateway.resources.edits import check_read_only
from gateway.resources.expansion import resolver
from gateway.resources.links import Links
from gateway.resources.mount import Mount
from gateway.resources.references import check_template
from gateway.store import Store
from providers.base import DELETE
from providers.base import EDIT

TEMPLATE = "template"
#: a template's references, and the type each names.
REFERENCES: dict[str, ResourceType] = {
    "machineConfig": MACHINE_CONFIGURATION,
    "machineImage": MACHINE_IMAGE,
    "credential": CREDENTIAL,
}
_PLAIN = ("name", "description", "property", "initialState", "userData")


def to_stored(links: Links, values: dict) -> dict:
    """Return a template body's values as the store keeps them.

    Raises:
        BadRequest: for an href that is not this gateway's, or userData that
            is not Base64 (as CIMI carries it).
    """
    stored = {name: values[name] for name in _PLAIN if name in values}
    if "userData" in stored:
        try:
            base64.b64decode("".join(stored["userData"].split()), validate=True)
        except (binascii.Error, ValueError) as ex:
            raise BadRequest("userData: not valid Base64") from ex
    for name, rtype in REFERENCES.items():
        if name in values:
            stored[name] = links.resolve(name, values[name], rtype)
    return stored


def from_stored(links: Links, stored: dict) -> dict:
    """Return a stored template as MachineTemplate values with hrefs."""
    values = {name: stored[name] for name in _PLAIN if name in stored}
    for name, rtype in REFERENCES.items():
        if name in stored:
            values[name] = links.expand(stored[name], rtype)
    values.update(
        id=stored["id"],
        created=datetime.fromisoformat(stored["created"]),
        updated=datetime.fromisoformat(stored["updated"]),
        operations=(EDIT, DELETE),
    )
    return values


def load(store: Store, namespace: str, template_id: str) -> dict:
    """Return a stored template; raise ``NotFound`` when there is none."""
    stored = store.get(namespace, TEMPLATE, template_id)
    if stored is None:
        raise NotFound(f"no machine template {template_id}")
    return stored


class MachineTemplates:
    """The machine templates of one provider's tenant, kept in the store."""

    def __init__(self, mount: Mount) -> None:
        self.mount = mount
        self.provider = mount.provider
        self.store = mount.store

    def _namespace(self, req: falcon.Request) -> str:
        return self.mount.namespace(req.context.credentials)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        creds, links = req.context.credentials, self.mount.links(req)
        stored = self.store.list(self._namespace(req), TEMPLATE)
        resp.media = links.collection_document(
            MACHINE_TEMPLATE,
            [from_stored(links, t) for t in stored],
            can_add=True,
            resolve=resolver(links, self.mount, creds),
        )

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        links = self.mount.links(req)
        template = to_stored(links, read(req, MACHINE_TEMPLATE))
        missing = [
            name for name in ("machineConfig", "machineImage") if name not in template
        ]
        if missing:
            # As Deltacloud did: a template is good for nothing without them.
            raise BadRequest(f"{', '.join(missing)}: required in a machine template")
        check_template(self.provider, links, req.context.credentials, template)
        now = datetime.now(UTC).replace(microsecond=0).isoformat()
        # A random id: templates made at once by several workers never clash.
        template.update(id=uuid.uuid4().hex[:12], created=now, updated=now)
        self.store.add(self._namespace(req), TEMPLATE, template["id"], template)
        resp.status = falcon.HTTP_201
        resp.location = links.item(MACHINE_TEMPLATE, template["id"])
        resp.media = links.document(MACHINE_TEMPLATE, from_stored(links, template))

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        creds, links = req.context.credentials, self.mount.links(req)
        template = load(self.store, self._namespace(req), id)
        resp.media = links.shown(
            MACHINE_TEMPLATE,
            from_stored(links, template),
            resolver(links, self.mount, creds),
        )

    def on_put_item(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        links = self.mount.links(req)
        namespace = self._namespace(req)
        template = load(self.store, namespace, id)
        given = read(req, MACHINE_TEMPLATE, read_only=True)
        current = links.values(MACHINE_TEMPLATE, from_stored(links, template))
        check_if_match(req, Document(MACHINE_TEMPLATE, current))
        check_read_only(links, MACHINE_TEMPLATE, given, current)
        # NOTE(gw): an edit replaces what it gives; what it leaves out stays.
        changes = to_stored(links, given)
        check_template(self.provider, links, req.context.credentials, changes)
        edited = {**template, **changes}
        edited["updated"] = datetime.now(UTC).replace(microsecond=0).isoformat()
        # Written only over the template as read: two edits at once never
        # merge silently; the later one is told to read again.
        if not self.store.replace(namespace, TEMPLATE, id, edited, expected=template):
            raise _changed_meanwhile(req, id)
        template = edited
        resp.media = links.document(MACHINE_TEMPLATE, from_stored(links, template))

    def on_delete_item(
        self, req: falcon.Request, resp: falcon.Response, id: str
    ) -> None:
        # Machines made from the template keep running: they never refer to it.
        namespace, links = self._namespace(req), self.mount.links(req)
        template = load(self.store, namespace, id)
        check_if_match(
            req, links.document(MACHINE_TEMPLATE, from_stored(links, template))
        )
        # Only the template as checked: one edited meanwhile stays.
        if not self.store.remove(namespace, TEMPLATE, id, expected=template):
            if self.store.get(namespace, TEMPLATE, id) is None:
                raise NotFound(f"no machine template {id}")
            raise _changed_meanwhile(req, id)
        resp.status = falcon.HTTP_200


def _changed_meanwhile(req: falcon.Request, id: str) -> CimiError:
    """The error for a write that lost the race to another writer.

    A client that sent If-Match gets 412 (its tag is stale now); without
    one, 409.
    """
    message = f"machine template {id} changed meanwhile; read it again"
    return PreconditionFailed(message) if req.if_match else Conflict(message)
