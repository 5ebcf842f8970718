"""What every edit (PUT) checks before it changes anything."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.cimi.errors import BadRequest
from gateway.cimi.schema import ResourceType


def check_read_only(
    rtype: ResourceType, given: Mapping[str, Any], current: Mapping[str, Any]
) -> None:
    """Refuse an edit that would change a read-only attribute.

    A client may echo the representation it read; only a different value of
    ``id``, ``created``, ``state``... is an attempt to edit what cannot be.

    Raises:
        BadRequest: naming every read-only attribute the edit would change.
    """
    changed = sorted(
        attr.name
        for attr in rtype.attrs
        if attr.read_only
        and attr.name in given
        and given[attr.name] != current.get(attr.name)
    )
    if changed:
        raise BadRequest(f"{', '.join(changed)}: read-only, cannot be edited")
