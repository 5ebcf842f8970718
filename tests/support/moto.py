"""A moto EC2 server on 127.0.0.1 for tests, and helpers to put machines in it."""

from __future__ import annotations

import base64
import logging
import os
import sys
from pathlib import Path
from typing import Any

import requests
from libcloud.compute.base import Node
from libcloud.compute.base import NodeImage
from libcloud.compute.base import NodeSize
from libcloud.compute.drivers.ec2 import NAMESPACE

from providers.ec2_driver import GatewayEC2NodeDriver

FIXTURE_AMIS = Path(__file__).parent.parent / "fixtures" / "amis.json"
#: the account owning the first two fixture AMIs.
FIXTURE_OWNER = "111122223333"
FIXTURE_AMI = "ami-0a1b2c3d4e5f60001"
#: moto's default account: images captured in tests belong to it ("self").
MOTO_ACCOUNT = "123456789012"
KEY, SECRET = "AKIDEXAMPLE", "secretexample"
REGION = "us-east-1"


def start_moto(amis_path: str | os.PathLike = FIXTURE_AMIS) -> tuple[Any, str]:
    """Start a threaded moto server on a free port of 127.0.0.1.

    Args:
        amis_path: the JSON list of AMIs moto starts with, instead of its
            ~1300 bundled ones (which make every unfiltered listing ~1 s).

    Returns:
        The server (call ``stop()`` on it) and its ``http://127.0.0.1:PORT``.

    Raises:
        RuntimeError: when moto's EC2 models were already imported with other
            AMIs: moto reads ``MOTO_AMIS_PATH`` once, on import.
    """
    amis_path = str(Path(amis_path).resolve())
    if (
        "moto.ec2.models.amis" in sys.modules
        and os.environ.get("MOTO_AMIS_PATH") != amis_path
    ):
        raise RuntimeError("moto's EC2 models were imported before MOTO_AMIS_PATH")
    os.environ["MOTO_AMIS_PATH"] = amis_path

    from moto.server import ThreadedMotoServer

    # NOTE: verbose=False does not silence werkzeug's per-request access log.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def reset_moto(endpoint: str) -> None:
    """Empty every moto backend; the fixture AMIs come back on next use."""
    requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()


def driver_for(endpoint: str) -> GatewayEC2NodeDriver:
    """Return a libcloud driver on the moto server, as the provider builds it."""
    port = int(endpoint.rsplit(":", 1)[1])
    return GatewayEC2NodeDriver(
        KEY,
        SECRET,
        region=REGION,
        host="127.0.0.1",
        port=port,
        secure=False,
        signature_version="4",
    )


def run_instance(
    endpoint: str,
    name: str = "test-machine",
    image_id: str = FIXTURE_AMI,
    instance_type: str = "t3.micro",
) -> str:
    """Start one EBS-backed instance on moto; return its id (``i-...``).

    moto shows it ``running`` from the next describe on.
    """
    driver = driver_for(endpoint)
    image = NodeImage(image_id, None, driver)
    size = NodeSize(instance_type, instance_type, None, None, None, None, driver)
    return driver.create_node(name=name, image=image, size=size).id


def describe(endpoint: str, instance_id: str) -> Node:
    """Return an instance as EC2 describes it, terminated ones included."""
    [node] = driver_for(endpoint).list_nodes(ex_node_ids=[instance_id])
    return node


def user_data_of(endpoint: str, instance_id: str) -> bytes:
    """Return the user data an instance was launched with, as bytes."""
    driver = driver_for(endpoint)
    params = {
        "Action": "DescribeInstanceAttribute",
        "InstanceId": instance_id,
        "Attribute": "userData",
    }
    answer = driver.connection.request(driver.path, params=params).object
    text = answer.findtext(f"{{{NAMESPACE}}}userData/{{{NAMESPACE}}}value")
    return base64.b64decode(text or "")
