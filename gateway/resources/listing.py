"""A collection GET: the query asked of a provider's listing, as cheaply as it can be.

Three ways, cheapest first: a cloud that pages for itself is asked for the
page only (when the query neither filters nor orders); otherwise the whole
listing comes from the mount's short cache (``gateway/listings.py``) or from
the cloud, asked for no more than the filter makes certain it needs.
"""

from __future__ import annotations

from collections.abc import Callable

import falcon

from gateway.cimi import filter as cimi_filter
from gateway.cimi.query import Query
from gateway.cimi.schema import Document
from gateway.cimi.schema import ResourceType
from gateway.listings import Fetch
from gateway.resources.links import Links
from gateway.resources.links import Resolver
from gateway.resources.mount import Mount
from providers.families import Narrowing

#: one page of a listing and the listing's whole length, or None: cannot.
Pager = Callable[[slice], tuple[list[dict], int] | None]
#: the attributes a provider may narrow its listing by.
NARROWABLE = ("id", "name", "state")


def collection(
    mount: Mount,
    req: falcon.Request,
    rtype: ResourceType,
    fetch: Fetch,
    *,
    can_add: bool,
    pager: Pager | None = None,
    resolve: Resolver | None = None,
) -> Document:
    """Return the collection of ``rtype`` the request asks for.

    Args:
        fetch: lists the whole collection, maybe narrowed.
        pager: fetches one page, when the provider can page for itself.
    """
    links = mount.links(req)
    query = links.query(rtype)
    if pager is not None and not query.reorders:
        paged = pager(query.page)
        if paged is not None:
            members, total = paged
            return links.collection_document(
                rtype, members, can_add=can_add, resolve=resolve, total=total
            )
    creds = req.context.credentials
    narrow = narrowing(links, rtype, query)
    if mount.provider.caches_listings:
        answers = mount.listings.get(creds, rtype.name, narrow, fetch)
    else:
        answers = fetch(narrow)
    return links.collection_document(rtype, answers, can_add=can_add, resolve=resolve)


def narrowing(links: Links, rtype: ResourceType, query: Query) -> Narrowing | None:
    """Return what the query's filter makes certain, in the provider's terms.

    Ids become the provider's local ids (a filter compares URLs); an id of
    another collection or host matches nothing here.
    """
    if query.where is None:
        return None
    certain = cimi_filter.required_values(query.where)
    narrow = {name: certain[name] for name in NARROWABLE if name in certain}
    if "id" in narrow:
        local = (links.local_id(str(href), rtype) for href in narrow["id"])
        narrow["id"] = frozenset(id for id in local if id is not None)
    return narrow or None
