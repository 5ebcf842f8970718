"""One provider at one URL prefix: what every responder of it works with."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

import falcon

from gateway.jobs import Jobs
from gateway.listings import Listings
from gateway.resources.links import Links
from gateway.store import Store
from providers.base import Credentials
from providers.base import Provider


@dataclass(frozen=True)
class Mount:
    """A provider mounted at ``path``, with the gateway's records beside it.

    Args:
        path: the URL prefix (``/cimi``).
        provider: the cloud served there.
        store: the gateway's record store (templates, the mock's state).
        jobs: the job records.
        created: when the mount was first served: its entry point's date.
        open_discovery: the entry point and ResourceMetadata answer without
            credentials.
        listings: the short cache of this mount's cloud listings.
    """

    path: str
    provider: Provider
    store: Store
    jobs: Jobs
    created: datetime | None = None
    open_discovery: bool = True
    listings: Listings = field(default_factory=lambda: Listings(0))

    def links(self, req: falcon.Request) -> Links:
        """Return the URLs of this mount as ``req`` sees them."""
        return Links(req, self.path)

    def namespace(self, creds: Credentials) -> str:
        """Return where ``creds``' records on this provider live in the store."""
        return self.provider.namespace(creds)
