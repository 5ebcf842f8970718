"""A real OpenStack on 127.0.0.1 for the tests: Keystone, Glance, Placement, Nova.

``tests/openstack/stack/`` is the project's copy of the measured recipe (its
README tells what is real, what is doubled and every trap met): ``up.sh``
installs Keystone 30, Glance 33, Placement 16 and Nova 34 (fake virt driver,
in-memory RPC) from PyPI into a venv of their own under the user's cache
directory, once, then boots them on five consecutive free loopback ports and
prints the Keystone URL; ``down.sh`` stops them by the PIDs ``up.sh`` wrote.

``start_openstack`` raises ``Unavailable`` when the stack cannot be installed
(no registry, no curl): the tests that need it then skip with that reason. A
stack that installed but does not boot is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STACK = Path(__file__).resolve().parents[1] / "openstack" / "stack"
HOST = "127.0.0.1"
PASSWORD = "secret"
#: what up.sh's bootstrap makes: flavors, one public image.
FLAVORS = ("m1.tiny", "m1.small", "m1.medium")
IMAGE_NAME = "cirros-0.6-fake"
#: how long a Keystone token lives on the test stack: short, so that the
#: tests' calls cross token expiries, as a long-running gateway's do.
TOKEN_SECONDS = 30
#: a cold install and the first migrations take about 2.5 min; leave room.
UP_TIMEOUT = 900


class Unavailable(Exception):
    """The stack cannot run here; the message says what is missing."""


@dataclass(frozen=True)
class OpenStack:
    """A running stack, and the credentials of its admin."""

    auth_url: str  # Keystone's, with /v3
    state: Path
    username: str = "admin"
    password: str = PASSWORD
    project: str = "admin"
    domain: str = "Default"
    region: str = "RegionOne"

    @property
    def keystone(self) -> str:
        """Keystone's root URL, as libcloud's ``ex_force_auth_url`` takes it."""
        return self.auth_url.removesuffix("/v3")


def cache_dir() -> Path:
    """Where the stack's venv and migrated databases are kept between runs."""
    given = os.environ.get("CIMI_GATEWAY_OPENSTACK_CACHE")
    if given:
        return Path(given)
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "cimi-gateway" / "openstack"


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def port_base(cinder: bool = False) -> int:
    """Return the first of 5 free consecutive ports, below the ephemeral range.

    25000 first: the migrated databases are cached per port base.
    """
    for base in range(25000, 32000, 100):
        if all(_free(base + n) for n in range(5 if cinder else 4)):
            return base
    raise Unavailable("no 5 free consecutive ports between 25000 and 32000")


def _python() -> str:
    """A Python >= 3.11 for the stack's venv: ours."""
    return sys.executable if sys.version_info >= (3, 11) else "python3"


def start_openstack(*, cinder: bool = False) -> OpenStack:
    """Install (once) and boot the stack; return it running.

    Raises:
        Unavailable: it cannot be installed here (the reason names what).
        RuntimeError: it installed but did not come up (with up.sh's log tail).
    """
    for tool in ("bash", "curl", "tar", "setsid"):
        if shutil.which(tool) is None:
            raise Unavailable(f"the OpenStack test stack needs {tool}")
    base = cache_dir()
    base.mkdir(parents=True, exist_ok=True)
    state = base / ("state-cinder" if cinder else "state")
    env = {
        **os.environ,
        "OSR_BASE": str(base),
        "OSR_STATE": str(state),
        "OSR_PORT_BASE": str(port_base(cinder)),
        "OSR_PASSWORD": PASSWORD,
        "OSR_PYTHON": _python(),
        "OSR_TOKEN_EXPIRATION": str(TOKEN_SECONDS),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    if cinder:
        env["OSR_CINDER"] = "1"
    try:
        run = subprocess.run(
            ["bash", str(STACK / "up.sh")],
            env=env,
            capture_output=True,
            text=True,
            timeout=UP_TIMEOUT,
        )
    except subprocess.TimeoutExpired as ex:
        stop_openstack(state)
        raise RuntimeError(f"up.sh did not finish in {UP_TIMEOUT} s") from ex
    if run.returncode != 0:
        stop_openstack(state)
        tail = "\n".join(run.stderr.splitlines()[-15:])
        installed = any((base / "venv").glob(".osr-*"))
        if not installed:
            raise Unavailable(f"could not install OpenStack from PyPI:\n{tail}")
        raise RuntimeError(f"the OpenStack test stack did not boot:\n{tail}")
    url = run.stdout.strip().splitlines()[-1]
    return OpenStack(auth_url=url, state=state)


def stop_openstack(state: Path) -> None:
    """Stop every process up.sh started, by the PIDs it recorded."""
    subprocess.run(
        ["bash", str(STACK / "down.sh")],
        env={**os.environ, "OSR_STATE": str(state)},
        capture_output=True,
        timeout=60,
    )


def libcloud_driver(stack: OpenStack) -> Any:
    """A plain libcloud OpenStack driver for ``stack``'s admin: the tests' view."""
    from libcloud.compute.providers import Provider
    from libcloud.compute.providers import get_driver

    return get_driver(Provider.OPENSTACK)(
        stack.username,
        stack.password,
        ex_force_auth_url=stack.keystone,
        ex_force_auth_version="3.x_password",
        ex_tenant_name=stack.project,
        ex_domain_name=stack.domain,
        ex_force_service_region=stack.region,
        api_version="2.0",
    )


def image_id(stack: OpenStack) -> str:
    """The id Glance gave the bootstrapped image."""
    images = libcloud_driver(stack).list_images()
    return next(image.id for image in images if image.name == IMAGE_NAME)


def gateway_table(stack: OpenStack) -> str:
    """The ``[providers.openstack]`` table of a gateway in front of ``stack``."""
    return f"""
[providers.openstack]
driver = "openstack"
mount = "/cimi"
auth_url = "{stack.auth_url}"
project = "{stack.project}"
region = "{stack.region}"
timeout = 60
"""
