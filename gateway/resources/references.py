"""What a template's references name on the cloud, checked where they enter.

A MachineTemplate (stored) and a MachineCreate (used at once) both name a
machine configuration and a machine image, by href or by value. Both are
checked here against the provider, so a template that names nothing is
refused when it is written, not when a machine is made from it.
"""

from __future__ import annotations

from gateway.cimi.errors import BadRequest
from gateway.cimi.errors import NotFound
from gateway.cimi.schema import MACHINE_CONFIGURATION
from gateway.cimi.schema import MACHINE_IMAGE
from gateway.resources.links import Links
from providers.base import Credentials
from providers.base import Provider


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
