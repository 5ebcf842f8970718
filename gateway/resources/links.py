"""The URLs of one mount as a request sees them, and provider answers linked."""

from __future__ import annotations

import functools
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import falcon

from gateway.cimi.errors import BadRequest
from gateway.cimi.hrefs import local_id
from gateway.cimi.query import Query
from gateway.cimi.schema import JOB
from gateway.cimi.schema import MACHINE_IMAGE
from gateway.cimi.schema import Attr
from gateway.cimi.schema import Document
from gateway.cimi.schema import Kind
from gateway.cimi.schema import ResourceType
from gateway.cimi.schema import action_uri
from gateway.cimi.schema import collection_of
from providers.base import CAPTURE
from providers.base import DELETE
from providers.base import EDIT

#: what ``$expand`` inlines for a reference: the attribute and its linked value
#: to the Document of the resource named, or None to leave it a reference.
Resolver = Callable[[Attr, Any], Document | None]


class _Unqueried(dict):
    """A type's query when the request has no query string, made once."""

    def __missing__(self, rtype: ResourceType) -> Query:
        query = self[rtype] = Query(rtype)
        return query


_UNQUERIED = _Unqueried()


_CAPTURE_REL = action_uri(CAPTURE)
_action_rel = functools.cache(action_uri)  # PERF(gw): a few names, every read


@functools.cache
def _linked(rtype: ResourceType) -> tuple[tuple[str, ResourceType, bool], ...]:
    """The attributes of ``rtype`` a provider answers as local ids: a URI of
    a member type, or a reference (written ``{"href": ...}``, the third)."""
    return tuple(
        (attr.name, attr.member, attr.kind is Kind.EXPANDABLE)
        for attr in rtype.attrs
        if attr.kind in (Kind.URI, Kind.EXPANDABLE) and attr.member is not None
    )


class Links:
    """Build absolute hrefs under one mount, from the request's own host.

    Args:
        req: the request being answered.
        mount: the provider's URL prefix (``/cimi``).
    """

    def __init__(
        self,
        req: falcon.Request,
        mount: str,
        sub_collections: Mapping[ResourceType, tuple[str, ...]] | None = None,
    ) -> None:
        self.req = req
        # The middleware checked the Host (or fixed the public URL) first.
        origin = getattr(req.context, "origin", None) or req.prefix
        self.base_uri = f"{origin}{mount}/"
        self.sub_collections = sub_collections or {}

    def collection(self, rtype: ResourceType) -> str:
        return f"{self.base_uri}{rtype.path}"

    def item(self, rtype: ResourceType, id: str) -> str:
        return f"{self.base_uri}{rtype.path}/{quote(id, safe='')}"

    def item_of_job(self, job: Mapping[str, Any]) -> str:
        """Return the URL of a stored job."""
        return self.item(JOB, job["id"])

    def local_id(self, href: str, rtype: ResourceType) -> str | None:
        """Return the id of the ``rtype`` resource ``href`` names, if ours."""
        return local_id(href, base_uri=self.base_uri, collection=rtype.path)

    def resolve(self, name: str, value: Mapping[str, Any], rtype: ResourceType) -> dict:
        """Return a client's reference-or-value as stored: a local id or a value.

        Raises:
            BadRequest: when the href names anything but a ``rtype`` here.
        """
        href = value.get("href")
        if not href:
            return {"value": {k: v for k, v in value.items() if k != "href"}}
        local = self.local_id(href, rtype)
        if local is None:
            raise BadRequest(
                f"{name}: '{href}' is not a {rtype.name} of {self.base_uri}"
            )
        return {"id": local}

    def expand(self, stored: Mapping[str, Any], rtype: ResourceType) -> dict:
        """Return a stored reference-or-value as the wire shows it."""
        if "id" in stored:
            return {"href": self.item(rtype, stored["id"])}
        return dict(stored["value"])

    def operation(self, name: str, item: str) -> tuple[str, str]:
        """Return the (rel, href) of operation ``name`` on the resource at ``item``."""
        if name in (DELETE, EDIT):
            return name, item
        if name == CAPTURE:
            # Capture is a POST of a MachineImage to the images collection.
            return _CAPTURE_REL, self.collection(MACHINE_IMAGE)
        return _action_rel(name), f"{item}/{name}"

    def values(self, rtype: ResourceType, answer: Mapping[str, Any]) -> dict:
        """Return a provider's answer with its id and operations as hrefs."""
        values = dict(answer)
        item = values["id"] = self.item(rtype, answer["id"])
        values["operation"] = [
            self.operation(name, item) for name in answer.get("operations", ())
        ]
        for name, member, is_reference in _linked(rtype):
            local = values.get(name)
            if local and isinstance(local, str):
                href = self.item(member, local)
                values[name] = {"href": href} if is_reference else href
        for name in self.sub_collections.get(rtype, ()):
            values[name] = f"{item}/{name}"
        return values

    def document(self, rtype: ResourceType, answer: Mapping[str, Any]) -> Document:
        """Return one resource, linked."""
        return Document(rtype, self.values(rtype, answer))

    def query(self, rtype: ResourceType) -> Query:
        """Return the request's query of a collection of ``rtype``, checked.

        Raises:
            BadRequest: for a parameter that does not fit ``rtype``.
        """
        if not self.req.query_string:
            return _UNQUERIED[rtype]  # PERF(gw): most reads ask nothing
        params = {
            name: value if isinstance(value, list) else [value]
            for name, value in self.req.params.items()
        }
        return Query.parse(params, rtype)

    def shown(
        self,
        rtype: ResourceType,
        answer: Mapping[str, Any],
        resolve: Resolver | None = None,
    ) -> Document:
        """Return one resource as a read asked for it: ``$select``, ``$expand``."""
        return self.shown_values(rtype, self.values(rtype, answer), resolve)

    def shown_values(
        self, rtype: ResourceType, values: dict, resolve: Resolver | None = None
    ) -> Document:
        """Return linked ``values`` as a read asked for them: ``$select``..."""
        return Document(rtype, self._shown(self.query(rtype), rtype, values, resolve))

    def collection_document(
        self,
        rtype: ResourceType,
        answers: Sequence[Mapping[str, Any]],
        *,
        can_add: bool,
        resolve: Resolver | None = None,
        total: int | None = None,
        url: str | None = None,
        link: Callable[[Mapping[str, Any]], dict] | None = None,
    ) -> Document:
        """Return a collection of ``rtype`` resources, linked, as queried.

        Filter, order, page (``count`` is what matched, before paging), then
        select and expand what is shown.

        Args:
            resolve: fetches what ``$expand`` inlines; None expands nothing.
            total: ``answers`` is the page already (the query neither filters
                nor orders), of a collection of ``total`` members.
            url: the collection's URL, when it is not ``rtype``'s own (a
                machine's volumes).
            link: turns one answer into linked values; ``values`` by default.
        """
        query = self.query(rtype)
        if link is None:
            link = functools.partial(self.values, rtype)
        if total is not None:
            members, count = [link(a) for a in answers], total
        elif query.reorders:
            # Filters compare hrefs as clients see them: link first.
            members, count = query.window([link(a) for a in answers])
        else:
            # PERF(gw): only the page shown is linked.
            members = [link(a) for a in answers[query.page]]
            count = len(answers)
        url = url or self.collection(rtype)
        return Document(
            collection_of(rtype),
            {
                "id": url,
                "count": count,
                rtype.name: [self._shown(query, rtype, m, resolve) for m in members],
                "operation": [("add", url)] if can_add else [],
            },
        )

    @staticmethod
    def _shown(
        query: Query,
        rtype: ResourceType,
        values: dict,
        resolve: Resolver | None,
    ) -> dict:
        for name in query.expanded if resolve is not None else ():
            if values.get(name) is not None:
                inline = resolve(rtype.by_name[name], values[name])
                if inline is not None:
                    values[name] = inline
        return query.select(values)
