"""Templates the gateway keeps for its clients, one responder for every kind.

No cloud stores a MachineTemplate or a VolumeTemplate, so the gateway does,
per tenant. A template keeps its references as local ids (or a value given
inline), so it renders with whatever host the client uses next. What differs
between kinds is a ``TemplateShape``: its type, its references, the values it
keeps as they are, and what is checked against the cloud when it is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime

import falcon

from gateway.cimi.errors import BadRequest
from gateway.cimi.errors import CimiError
from gateway.cimi.errors import Conflict
from gateway.cimi.errors import NotFound
from gateway.cimi.errors import PreconditionFailed
from gateway.cimi.schema import Document
from gateway.cimi.schema import ResourceType
from gateway.conditional import check_if_match
from gateway.media import read
from gateway.resources.edits import check_read_only
from gateway.resources.expansion import resolver
from gateway.resources.links import Links
from gateway.resources.mount import Mount
from gateway.store import Store
from providers.base import DELETE
from providers.base import EDIT
from providers.base import Credentials
from providers.base import Provider

#: checks a template's values (as stored) against the cloud; raises BadRequest.
Check = Callable[[Provider, Links, Credentials, dict], None]


@dataclass(frozen=True)
class TemplateShape:
    """What one kind of template is made of.

    Args:
        rtype: its resource type.
        kind: the store's kind of its records.
        references: the attributes naming other resources, and their types.
        reference_lists: the attributes listing references (each an href
            with fields of its own), and the type they name.
        plain: the attributes kept as they are.
        required: the references a new template must have.
        check: refuses values naming what the cloud lacks.
        checked_values: refuses plain values that cannot work (Base64...),
            and may put them in the one form kept.
        shown_values: turns plain values as kept into their wire form.
    """

    rtype: ResourceType
    kind: str
    references: Mapping[str, ResourceType]
    plain: tuple[str, ...]
    required: tuple[str, ...]
    check: Check
    checked_values: Callable[[dict], None] = lambda values: None
    reference_lists: Mapping[str, ResourceType] = field(default_factory=dict)
    shown_values: Callable[[dict], dict] = lambda values: values

    @property
    def label(self) -> str:
        """The type's name in words: ``machine template``."""
        words = "".join(f" {c.lower()}" if c.isupper() else c for c in self.rtype.name)
        return words.strip()

    def to_stored(self, links: Links, values: dict) -> dict:
        """Return a template body's values as the store keeps them.

        Raises:
            BadRequest: for an href that is not this gateway's, or a value
                ``checked_values`` refuses.
        """
        stored = {name: values[name] for name in self.plain if name in values}
        self.checked_values(stored)
        for name, rtype in self.references.items():
            if name in values:
                stored[name] = links.resolve(name, values[name], rtype)
        for name, rtype in self.reference_lists.items():
            if name in values:
                stored[name] = [
                    {**item, "href": _listed_id(links, name, item, rtype)}
                    for item in values[name]
                ]
        return stored

    def wire_values(self, links: Links, stored: dict) -> dict:
        """Return a template's stored values as the wire shows them (hrefs)."""
        values = self.shown_values(
            {name: stored[name] for name in self.plain if name in stored}
        )
        for name, rtype in self.references.items():
            if name in stored:
                values[name] = links.expand(stored[name], rtype)
        for name, rtype in self.reference_lists.items():
            if name in stored:
                values[name] = [
                    {**item, "href": links.item(rtype, item["href"]["id"])}
                    for item in stored[name]
                ]
        return values

    def from_stored(self, links: Links, stored: dict) -> dict:
        """Return a stored template as values with hrefs."""
        values = self.wire_values(links, stored)
        values.update(
            id=stored["id"],
            created=datetime.fromisoformat(stored["created"]),
            updated=datetime.fromisoformat(stored["updated"]),
            operations=(EDIT, DELETE),
        )
        return values

    def merged(
        self, store: Store, namespace: str, links: Links, attr: str, given: dict
    ) -> dict:
        """Return the stored values a create's template (``attr``) stands for.

        ``given`` is the decoded reference-or-value: the template its href
        names, overridden by what it gives by value.

        Raises:
            BadRequest: naming ``attr`` for an href that is not one of this
                mount's templates of this kind, or names none.
        """
        given = dict(given)
        href = given.pop("href", None)
        template: dict = {}
        if href:
            template_id = links.local_id(href, self.rtype)
            if template_id is None:
                raise BadRequest(
                    f"{attr}: '{href}' is not a {self.rtype.name} of {links.base_uri}"
                )
            try:
                template = self.load(store, namespace, template_id)
            except NotFound as ex:
                raise BadRequest(f"{attr}: {ex.message}") from ex
        return {**template, **self.to_stored(links, given)}

    def validate(
        self, mount: Mount, links: Links, creds: Credentials, stored: dict
    ) -> None:
        """Refuse stored values naming what the cloud lacks (``check``)."""
        self.check(mount.provider, links, creds, stored)

    def load(self, store: Store, namespace: str, template_id: str) -> dict:
        """Return a stored template; raise ``NotFound`` when there is none."""
        stored = store.get(namespace, self.kind, template_id)
        if stored is None:
            raise NotFound(f"no {self.label} {template_id}")
        return stored


def _listed_id(links: Links, name: str, item: dict, rtype: ResourceType) -> dict:
    """Return a listed reference's href as kept: ``{"id": local id}``."""
    if not item.get("href"):
        raise BadRequest(f"{name}: each needs the href of a {rtype.name}")
    return links.resolve(name, {"href": item["href"]}, rtype)


class Templates:
    """The templates of one kind of one provider's tenant, kept in the store."""

    def __init__(self, mount: Mount, shape: TemplateShape) -> None:
        self.mount = mount
        self.shape = shape
        self.provider = mount.provider
        self.store = mount.store

    def _namespace(self, req: falcon.Request) -> str:
        return self.mount.namespace(req.context.credentials)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        creds, links = req.context.credentials, self.mount.links(req)
        stored = self.store.list(self._namespace(req), self.shape.kind)
        resp.media = links.collection_document(
            self.shape.rtype,
            [self.shape.from_stored(links, t) for t in stored],
            can_add=True,
            resolve=resolver(links, self.mount, creds),
        )

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        links, shape = self.mount.links(req), self.shape
        template = shape.to_stored(links, read(req, shape.rtype))
        missing = [name for name in shape.required if name not in template]
        if missing:
            # As Deltacloud did: a template is good for nothing without them.
            raise BadRequest(f"{', '.join(missing)}: required in a {shape.label}")
        shape.validate(self.mount, links, req.context.credentials, template)
        now = datetime.now(UTC).replace(microsecond=0).isoformat()
        # A random id: templates made at once by several workers never clash.
        template.update(id=uuid.uuid4().hex[:12], created=now, updated=now)
        self.store.add(self._namespace(req), shape.kind, template["id"], template)
        resp.status = falcon.HTTP_201
        resp.location = links.item(shape.rtype, template["id"])
        resp.media = links.document(shape.rtype, shape.from_stored(links, template))

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        creds, links = req.context.credentials, self.mount.links(req)
        template = self.shape.load(self.store, self._namespace(req), id)
        resp.media = links.shown(
            self.shape.rtype,
            self.shape.from_stored(links, template),
            resolver(links, self.mount, creds),
        )

    def on_put_item(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        links, shape = self.mount.links(req), self.shape
        namespace = self._namespace(req)
        template = shape.load(self.store, namespace, id)
        given = read(req, shape.rtype, read_only=True)
        current = links.values(shape.rtype, shape.from_stored(links, template))
        check_if_match(req, Document(shape.rtype, current))
        check_read_only(links, shape.rtype, given, current)
        # NOTE(gw): an edit replaces what it gives; what it leaves out stays.
        changes = shape.to_stored(links, given)
        shape.validate(self.mount, links, req.context.credentials, changes)
        edited = {**template, **changes}
        edited["updated"] = datetime.now(UTC).replace(microsecond=0).isoformat()
        # Written only over the template as read: two edits at once never
        # merge silently; the later one is told to read again.
        if not self.store.replace(namespace, shape.kind, id, edited, expected=template):
            raise self._changed_meanwhile(req, id)
        resp.media = links.document(shape.rtype, shape.from_stored(links, edited))

    def on_delete_item(
        self, req: falcon.Request, resp: falcon.Response, id: str
    ) -> None:
        # What was made from a template stays: it never refers to it.
        namespace, links, shape = (
            self._namespace(req),
            self.mount.links(req),
            self.shape,
        )
        template = shape.load(self.store, namespace, id)
        check_if_match(
            req, links.document(shape.rtype, shape.from_stored(links, template))
        )
        # Only the template as checked: one edited meanwhile stays.
        if not self.store.remove(namespace, shape.kind, id, expected=template):
            if self.store.get(namespace, shape.kind, id) is None:
                raise NotFound(f"no {shape.label} {id}")
            raise self._changed_meanwhile(req, id)
        resp.status = falcon.HTTP_200

    def _changed_meanwhile(self, req: falcon.Request, id: str) -> CimiError:
        """The error for a write that lost the race to another writer.

        A client that sent If-Match gets 412 (its tag is stale now); without
        one, 409.
        """
        message = f"{self.shape.label} {id} changed meanwhile; read it again"
        return PreconditionFailed(message) if req.if_match else Conflict(message)


def responder(shape: TemplateShape) -> Callable[[Mount], Templates]:
    """Return what builds the responder of ``shape``'s templates for a mount."""
    return lambda mount: Templates(mount, shape)
