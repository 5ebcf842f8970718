"""A short cache of cloud listings, per credentials, so pages cost one listing.

A client paging through 10,000 images asks for 200 pages; without this each
page would make the cloud list all 10,000 again. A listing is kept for
``seconds`` per worker, keyed by the credentials themselves (so it never
crosses tenants), and forgotten as soon as this gateway changes what it lists.
Another worker's writes show once the entry expires: at most ``seconds`` late.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from providers.base import Credentials
from providers.families import Narrowing

Fetch = Callable[[Narrowing | None], list[dict]]


class Listings:
    """Recent full listings, by credentials and resource type.

    Args:
        seconds: how long a listing is served again; 0 keeps none.
        size: the most listings kept, oldest first out.
    """

    def __init__(self, seconds: float, size: int = 256) -> None:
        self.seconds = seconds
        self.size = size
        self._entries: OrderedDict[tuple, tuple[float, list[dict]]] = OrderedDict()
        # Bumped by each forget: a listing fetched across a write is not kept.
        self._generation = 0
        self._lock = threading.Lock()

    def get(
        self, creds: Credentials, kind: str, narrow: Narrowing | None, fetch: Fetch
    ) -> list[dict]:
        """Return the listing of ``kind``: a fresh full one, or ``fetch``'s.

        A narrowed fetch is not kept (it is not the whole listing); a full
        listing kept serves narrowed asks too, since the gateway filters it.
        """
        if self.seconds <= 0:
            return fetch(narrow)
        key = (creds, kind)
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            generation = self._generation
        if entry is not None and entry[0] > now:
            return entry[1]
        if narrow:
            return fetch(narrow)
        listing = fetch(None)
        with self._lock:
            if generation != self._generation:
                return listing  # a write came meanwhile: maybe stale already
            self._entries[key] = (now + self.seconds, listing)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return listing

    def forget(self, creds: Credentials) -> None:
        """Drop every listing of ``creds``: this gateway just changed something.

        A capture changes images and the machine; one rule for all is
        simpler than knowing which write touches what.
        """
        with self._lock:
            self._generation += 1
            for key in [key for key in self._entries if key[0] == creds]:
                del self._entries[key]


def forgets_listings(responder: Callable) -> Callable:
    """Decorate a responder that writes: its mount's listings of the caller's
    credentials are forgotten after it, whether it succeeded or not."""

    @functools.wraps(responder)
    def writing(self: Any, req: Any, resp: Any, *args: Any, **kwargs: Any) -> None:
        try:
            responder(self, req, resp, *args, **kwargs)
        finally:
            creds = getattr(req.context, "credentials", None)
            if creds is not None:
                self.mount.listings.forget(creds)

    return writing
