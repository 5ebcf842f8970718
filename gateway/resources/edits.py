"""What every edit (PUT) checks before it changes anything."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.cimi.errors import BadRequest
from gateway.cimi.hrefs import absolute
from gateway.cimi.schema import ResourceType
from gateway.resources.links import Links


def check_read_only(
    links: Links,
    rtype: ResourceType,
    given: Mapping[str, Any],
    current: Mapping[str, Any],
) -> None:
    """Refuse an edit that would change a read-only attribute.

    A client may echo the representation it read; only a different value of
    ``id``, ``created``, ``state``, ``operations``... is an attempt to edit
    what cannot be. An ``id`` may be the URL or the bare id.

    Raises:
        BadRequest: naming every read-only attribute the edit would change.
    """

    def same(name: str, value: Any) -> bool:
        if name == "id":
            return links.local_id(value, rtype) == links.local_id(current["id"], rtype)
        if name == "operation":
            # Hrefs may come back relative to baseURI, as ids may; one that
            # is no URL at all cannot be any operation we wrote.
            given_ops = {
                (rel, absolute(href, base_uri=links.base_uri)) for rel, href in value
            }
            return given_ops == set(current.get(name) or [])
        return value == current.get(name)

    changed = sorted(
        attr.name
        for attr in rtype.attrs
        if attr.read_only
        and attr.name in given
        and not same(attr.name, given[attr.name])
    )
    if changed:
        raise BadRequest(f"{', '.join(changed)}: read-only, cannot be edited")
