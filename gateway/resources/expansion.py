"""What ``$expand`` inlines: the resource a reference names, read once per request."""

from __future__ import annotations

import functools
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

from gateway.cimi.errors import NotFound
from gateway.cimi.schema import MACHINE
from gateway.cimi.schema import MACHINE_CONFIGURATION
from gateway.cimi.schema import MACHINE_IMAGE
from gateway.cimi.schema import NETWORK
from gateway.cimi.schema import VOLUME
from gateway.cimi.schema import VOLUME_CONFIGURATION
from gateway.cimi.schema import VOLUME_IMAGE
from gateway.cimi.schema import Attr
from gateway.cimi.schema import Document
from gateway.cimi.schema import ResourceType
from gateway.resources.links import Links
from gateway.resources.links import Resolver
from gateway.resources.mount import Mount
from providers.base import Credentials
from providers.base import Provider
from providers.families import ServesMachineConfigurations
from providers.families import ServesMachineImages
from providers.families import ServesMachines
from providers.families import ServesNetworks
from providers.families import ServesVolumeImages
from providers.families import ServesVolumes


def readers(
    provider: Provider, creds: Credentials
) -> dict[ResourceType, Callable[[str], dict]]:
    """Return how to read one resource of each type ``provider`` serves."""
    read: dict[ResourceType, Callable[[str], dict]] = {}
    if isinstance(provider, ServesMachines):
        read[MACHINE] = functools.partial(provider.get_machine, creds)
    if isinstance(provider, ServesMachineImages):
        read[MACHINE_IMAGE] = functools.partial(provider.get_machine_image, creds)
    if isinstance(provider, ServesMachineConfigurations):
        read[MACHINE_CONFIGURATION] = functools.partial(
            provider.get_machine_configuration, creds
        )
    if isinstance(provider, ServesVolumes):
        read[VOLUME] = functools.partial(provider.get_volume, creds)
        read[VOLUME_CONFIGURATION] = functools.partial(
            provider.get_volume_configuration, creds
        )
    if isinstance(provider, ServesVolumeImages):
        read[VOLUME_IMAGE] = functools.partial(provider.get_volume_image, creds)
    if isinstance(provider, ServesNetworks):
        read[NETWORK] = functools.partial(provider.get_network, creds)
    return read


def resolver(links: Links, mount: Mount, creds: Credentials) -> Resolver:
    """Return what inlines references for one request, each href read once.

    A reference to something that is gone, or that is not one of ours, stays
    a reference.
    """
    read: dict[ResourceType, Callable[[str], dict]] = {}
    seen: dict[str, Document | None] = {}

    def resolve(attr: Attr, value: Any) -> Document | None:
        if not read:  # PERF(gw): built on the first reference expanded only
            read.update(readers(mount.provider, creds))
        href = value.get("href") if isinstance(value, Mapping) else value
        if not href:
            return None  # given by value: already inline
        if href not in seen:
            seen[href] = _read(links, read, attr, href)
        return seen[href]

    return resolve


def _read(
    links: Links,
    read: Mapping[ResourceType, Callable[[str], dict]],
    attr: Attr,
    href: str,
) -> Document | None:
    candidates = [attr.member] if attr.member in read else list(read)
    for rtype in candidates:
        id = links.local_id(href, rtype)
        if id is None:
            continue
        try:
            return links.document(rtype, read[rtype](id))
        except NotFound:
            return None
    return None
