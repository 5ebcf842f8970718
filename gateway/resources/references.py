"""What a template's references name on the cloud, checked where they enter.

A MachineTemplate (stored) and a MachineCreate (used at once) both name a
machine configuration and a machine image, by href or by value. Both are
checked here against the provider, so a template that names nothing is
refused when it is written, not when a machine is made from it.
"""

from __future__ import annotations

from gateway.cimi.errors import BadRequest
from gateway.cimi.errors import NotFound
from gateway.cimi.schema import CREDENTIAL
from gateway.cimi.schema import MACHINE_CONFIGURATION
from gateway.cimi.schema import MACHINE_IMAGE
from gateway.cimi.schema import VOLUME
from gateway.cimi.schema import VOLUME_CONFIGURATION
from gateway.cimi.schema import VOLUME_IMAGE
from gateway.resources.links import Links
from providers.base import KIB_PER_GIB
from providers.base import Credentials
from providers.base import Provider
from providers.families import ServesCredentials
from providers.families import ServesMachineVolumes
from providers.families import ServesVolumeImages
from providers.families import ServesVolumes


def config_id(
    provider: Provider, links: Links, creds: Credentials, ref: dict | None
) -> str:
    """Return the id of the configuration a stored reference-or-value names.

    Raises:
        BadRequest: naming ``machineConfig`` when there is no such one.
    """
    if ref is None:
        raise BadRequest("machineTemplate.machineConfig: required")
    if "id" in ref:
        try:
            return provider.get_machine_configuration(creds, ref["id"])["id"]
        except NotFound as ex:
            href = links.item(MACHINE_CONFIGURATION, ref["id"])
            raise BadRequest(f"machineConfig: no such configuration {href}") from ex
    # By value: the configuration with that cpu and memory.
    wanted = (ref["value"].get("cpu"), ref["value"].get("memory"))
    for config in provider.list_machine_configurations(creds):
        if (config.get("cpu"), config.get("memory")) == wanted:
            return config["id"]
    cpu, memory = wanted
    raise BadRequest(
        f"machineConfig: no configuration has cpu {cpu} and memory {memory}"
    )


def image_id(
    provider: Provider, links: Links, creds: Credentials, ref: dict | None
) -> str:
    """Return the id of the image a stored reference names.

    Raises:
        BadRequest: naming ``machineImage`` when there is no such image.
    """
    if ref is None:
        raise BadRequest("machineTemplate.machineImage: required")
    if "id" not in ref:
        raise BadRequest("machineImage: give the href of a machine image")
    try:
        return provider.get_machine_image(creds, ref["id"])["id"]
    except NotFound as ex:
        href = links.item(MACHINE_IMAGE, ref["id"])
        raise BadRequest(f"machineImage: no such image {href}") from ex


def key_name(
    provider: Provider, links: Links, creds: Credentials, ref: dict | None
) -> str:
    """Return the cloud's key pair name a stored ``credential`` reference names.

    Where the provider serves credentials, the key pair must exist.

    Raises:
        BadRequest: naming ``credential`` when there is no such credential.
    """
    if ref is None:
        return ""
    if "id" not in ref:
        raise BadRequest("credential: give the href of a credential")
    if isinstance(provider, ServesCredentials):
        try:
            return provider.get_credential(creds, ref["id"])["id"]
        except NotFound as ex:
            href = links.item(CREDENTIAL, ref["id"])
            raise BadRequest(f"credential: no such credential {href}") from ex
    return ref["id"]


def check_template(
    provider: Provider, links: Links, creds: Credentials, stored: dict
) -> None:
    """Refuse template values naming a configuration or image the cloud lacks.

    Only the references in ``stored`` are checked: an edit that leaves them
    out does not answer for an image deleted since.
    """
    if "machineConfig" in stored:
        config_id(provider, links, creds, stored["machineConfig"])
    if "machineImage" in stored:
        image_id(provider, links, creds, stored["machineImage"])
    if "credential" in stored:
        key_name(provider, links, creds, stored["credential"])
    for item in stored.get("volume", ()):
        if "id" in item["href"]:
            attachable_volume(provider, links, creds, item["href"]["id"])


def attachable_volume(
    provider: Provider, links: Links, creds: Credentials, volume_id: str
) -> None:
    """Refuse a template's volume the cloud lacks, or cannot attach.

    Raises:
        BadRequest: naming ``volumes``.
    """
    if not isinstance(provider, ServesMachineVolumes):
        raise BadRequest("volumes: this cloud attaches no volumes to machines")
    try:
        provider.get_volume(creds, volume_id)  # type: ignore[attr-defined]
    except NotFound as ex:
        href = links.item(VOLUME, volume_id)
        raise BadRequest(f"volumes: no such volume {href}") from ex


# -- volumes ----------------------------------------------------------------------


def volume_config(
    provider: ServesVolumes, links: Links, creds: Credentials, ref: dict | None
) -> dict:
    """Return the volume configuration a stored reference-or-value names.

    By value, a ``type`` picks the configuration of that type; without one,
    the cloud's first (its default) is taken, and the value's ``capacity``
    overrides the configuration's.

    Raises:
        BadRequest: naming ``volumeConfig`` when nothing matches.
    """
    if ref is not None and "id" in ref:
        try:
            return provider.get_volume_configuration(creds, ref["id"])
        except NotFound as ex:
            href = links.item(VOLUME_CONFIGURATION, ref["id"])
            raise BadRequest(f"volumeConfig: no such configuration {href}") from ex
    value = ref["value"] if ref is not None else {}
    configs = provider.list_volume_configurations(creds)
    if "type" in value:
        configs = [c for c in configs if c.get("type") == value["type"]]
        if not configs:
            raise BadRequest(f"volumeConfig: no configuration of type {value['type']}")
    if not configs:
        raise BadRequest("volumeConfig: this cloud offers no volume configuration")
    config = dict(configs[0])
    if "capacity" in value:
        config["capacity"] = value["capacity"]
    return config


def volume_image(
    provider: ServesVolumeImages, links: Links, creds: Credentials, ref: dict | None
) -> dict | None:
    """Return the volume image a stored reference names, or None for none.

    Raises:
        BadRequest: naming ``volumeImage`` when there is no such image.
    """
    if ref is None:
        return None
    if "id" not in ref:
        raise BadRequest("volumeImage: give the href of a volume image")
    try:
        return provider.get_volume_image(creds, ref["id"])
    except NotFound as ex:
        href = links.item(VOLUME_IMAGE, ref["id"])
        raise BadRequest(f"volumeImage: no such volume image {href}") from ex


def check_volume_template(
    provider: Provider, links: Links, creds: Credentials, stored: dict
) -> None:
    """Refuse volume template values naming what the cloud lacks."""
    if "volumeConfig" in stored:
        config = volume_config(provider, links, creds, stored["volumeConfig"])  # type: ignore[arg-type]
        capacity_gib(provider, config["capacity"])  # type: ignore[arg-type]
    if "volumeImage" in stored:
        volume_image(provider, links, creds, stored["volumeImage"])  # type: ignore[arg-type]


def capacity_gib(provider: ServesVolumes, capacity: object) -> int:
    """Return a CIMI capacity (KiB) as the whole GiB clouds take, rounded up.

    Raises:
        BadRequest: for a capacity that is not a positive integer, or more
            than the cloud makes.
    """
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity <= 0:
        raise BadRequest(f"capacity: {capacity!r} KiB; give a positive number of KiB")
    gib = -(-capacity // KIB_PER_GIB)
    if gib > provider.max_volume_gib:
        most = provider.max_volume_gib * KIB_PER_GIB
        raise BadRequest(f"capacity: {capacity} KiB; at most {most} KiB here")
    return gib
