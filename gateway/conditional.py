"""Conditional requests (RFC 9110 13): entity tags, If-None-Match, If-Match.

A resource's entity tag is the MD5 of the representation served (Deltacloud's
``Rack::ETag`` did the same), so it changes exactly when what a client would
read changes. ``If-None-Match`` on a GET or HEAD answers 304 when nothing has;
``If-Match`` on a PUT or DELETE answers 412 unless the client's tag is one of
the resource's current representations, XML or JSON, so an edit made from a
stale read never lands.
"""

from __future__ import annotations

import hashlib

import falcon

from gateway.cimi import codec
from gateway.cimi.errors import PreconditionFailed
from gateway.cimi.schema import Document


def entity_tag(body: bytes) -> str:
    """Return the (strong) entity tag of a representation, unquoted."""
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


def not_modified(req: falcon.Request, tag: str) -> bool:
    """Tell whether a GET or HEAD can answer 304: the client holds ``tag``.

    If-None-Match compares weakly: ``W/"x"`` matches ``"x"``.
    """
    held = req.if_none_match
    return bool(held) and ("*" in held or tag in held)


def check_if_match(req: falcon.Request, current: Document) -> None:
    """Refuse a change unless If-Match names ``current`` as it reads now.

    ``current`` is the resource as a GET of it without query would show it;
    a tag of its XML or of its JSON representation will do. No If-Match: no
    condition.

    Raises:
        PreconditionFailed: when the client's tags are all stale.
    """
    wanted = req.if_match
    if not wanted or "*" in wanted:
        return  # the resource exists: the responder found it first
    # If-Match compares strongly: a weak tag never matches.
    strong = {tag for tag in wanted if not getattr(tag, "is_weak", False)}
    if strong & current_tags(current):
        return
    raise PreconditionFailed(
        "If-Match: the resource has changed since that representation; read it again"
    )


def current_tags(current: Document) -> set[str]:
    """Return the entity tags of ``current``'s XML and JSON representations."""
    return {entity_tag(codec.to_xml(current)), entity_tag(codec.to_json(current))}
