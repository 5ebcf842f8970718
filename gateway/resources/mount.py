"""One provider at one URL prefix: what every responder of it works with."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

import falcon

from gateway.cimi.schema import CREDENTIAL
from gateway.cimi.schema import MACHINE
from gateway.cimi.schema import NETWORK
from gateway.cimi.schema import SYSTEM
from gateway.cimi.schema import VOLUME
from gateway.cimi.schema import ResourceType
from gateway.jobs import Jobs
from gateway.listings import Listings
from gateway.resources.links import Links
from gateway.store import Store
from providers.base import Credentials
from providers.base import Provider
from providers.families import ServesCredentials
from providers.families import ServesMachines
from providers.families import ServesMachineVolumes
from providers.families import ServesNetworks
from providers.families import ServesVolumes
from providers.families import serves

#: a system's component collections, in DSP8009's order: their path under
#: the system, the type of what each holds, and the families it needs.
SYSTEM_GROUPS: Mapping[str, tuple[ResourceType, tuple[type, ...]]] = {
    "systems": (SYSTEM, ()),
    "machines": (MACHINE, ()),
    "credentials": (CREDENTIAL, (ServesCredentials,)),
    "volumes": (VOLUME, (ServesVolumes,)),
    "networks": (NETWORK, (ServesNetworks,)),
}


@dataclass(frozen=True)
class Mount:
    """A provider mounted at ``path``, with the gateway's records beside it.

    Args:
        path: the URL prefix (``/cimi``).
        provider: the cloud served there.
        store: the gateway's record store (templates, the mock's state).
        jobs: the job records.
        open_discovery: the entry point and ResourceMetadata answer without
            credentials.
        listings: the short cache of this mount's cloud listings.
    """

    path: str
    provider: Provider
    store: Store
    jobs: Jobs
    open_discovery: bool = True
    listings: Listings = field(default_factory=lambda: Listings(0))
    _created: dict[str, datetime] = field(default_factory=dict, repr=False)

    def created(self) -> datetime:
        """When the mount was first served: its entry point's date, the same
        in every worker. Read at the first request, not when the app is
        built: a worker starting while the store is down still starts. Kept
        once read (without a lock: a second read tells the same date)."""
        known = self._created.get("at")
        if known is None:
            known = self._created["at"] = self.store.first_seen(
                f"mount:{self.provider.name}"
            )
        return known

    def links(self, req: falcon.Request) -> Links:
        """Return the URLs of this mount as ``req`` sees them."""
        return Links(req, self.path, self.sub_collections)

    @functools.cached_property
    def sub_collections(self) -> dict[ResourceType, tuple[str, ...]]:
        """The collections under a resource this mount serves (a machine's
        volumes), each linked from the resource's attribute of that name."""
        found: dict[ResourceType, tuple[str, ...]] = {}
        if isinstance(self.provider, ServesMachineVolumes):
            found[MACHINE] = ("volumes",)
        if isinstance(self.provider, ServesMachines):
            found[SYSTEM] = tuple(
                group
                for group, (_, needs) in SYSTEM_GROUPS.items()
                if serves(self.provider, *needs)
            )
        return found

    def namespace(self, creds: Credentials) -> str:
        """Return where ``creds``' records on this provider live in the store."""
        return self.provider.namespace(creds)
