"""CIMI collection query parameters: ``$first`` and ``$last`` (DSP0263 4.1.6.2)."""

from __future__ import annotations

import re

from gateway.cimi.errors import BadRequest

# ASCII digits only (str.isdigit takes "²" too), few enough to be an index.
_POSITION = re.compile(r"[0-9]{1,18}")


def page(first: str | None, last: str | None) -> slice:
    """Return the slice of a collection ``$first``..``$last`` selects.

    Both are 1-based and inclusive; either may be left out. ``count`` stays the
    size of the whole collection, so a client sees what was cut.

    Raises:
        BadRequest: when either is not a positive integer, or last < first.
    """
    start = _position("$first", first)
    stop = _position("$last", last)
    if start is not None and stop is not None and stop < start:
        raise BadRequest("$last must not be before $first")
    return slice(None if start is None else start - 1, stop)


def _position(name: str, text: str | None) -> int | None:
    if text is None:
        return None
    text = text.strip()
    if not _POSITION.fullmatch(text) or int(text) < 1:
        raise BadRequest(f"{name} must be a positive integer, not '{text[:40]}'")
    return int(text)
