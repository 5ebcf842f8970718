"""Resolve the hrefs a client sends back to ids of this gateway's resources."""

from __future__ import annotations

from urllib.parse import unquote
from urllib.parse import urljoin
from urllib.parse import urlsplit


def local_id(href: str, *, base_uri: str, collection: str) -> str | None:
    """Return the id of the member of ``collection`` that ``href`` names.

    ``href`` may be absolute, relative to ``base_uri`` (which ends in ``/``),
    or a bare id. Returns None when it names anything else: another host, another
    collection, a sub-resource.

    Args:
        href: what the client sent, trimmed.
        base_uri: the entry point's ``baseURI``.
        collection: the collection's path segment (``machines``).
    """
    if not any(c in href for c in "/:?#"):
        return _segment(href)
    joined = absolute(href, base_uri=base_uri)
    if joined is None:
        return None
    try:
        target, base = urlsplit(joined), urlsplit(base_uri)
    except ValueError:  # e.g. "http://[::1": not a URL at all
        return None
    if target.netloc.lower() != base.netloc.lower() or target.query:
        return None
    prefix = f"{base.path}{collection}/"
    if not target.path.startswith(prefix):
        return None
    return _segment(target.path[len(prefix) :])


def absolute(href: str, *, base_uri: str) -> str | None:
    """Return ``href`` made absolute against ``base_uri``; None if no URL."""
    try:
        return urljoin(base_uri, href)
    except ValueError:  # e.g. "http://[": not a URL at all
        return None


def _segment(text: str) -> str | None:
    """Return one decoded path segment, or None if it is empty or several."""
    if not text or "/" in text:
        return None
    segment = unquote(text)
    return None if not segment or "/" in segment or segment in (".", "..") else segment
