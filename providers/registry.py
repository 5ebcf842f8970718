"""Config driver names to provider classes, imported only when used."""

from __future__ import annotations

import importlib

from providers.base import Provider

DRIVERS: dict[str, str] = {
    "mock": "providers.mock:MockProvider",
    "ec2": "providers.ec2:EC2Provider",
    "openstack": "providers.openstack:OpenStackProvider",
}


def provider_class(driver: str) -> type[Provider]:
    """Return the provider class of a config ``driver`` name.

    Raises:
        KeyError: when no such driver exists.
    """
    module_name, class_name = DRIVERS[driver].split(":")
    return getattr(importlib.import_module(module_name), class_name)
