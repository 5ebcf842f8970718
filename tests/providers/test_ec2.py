"""The ec2 provider through libcloud's real EC2 driver, against moto on 127.0.0.1."""

from __future__ import annotations

import socket
from datetime import UTC
from datetime import datetime

import pytest
from libcloud.common.exceptions import BaseHTTPError
from libcloud.common.types import InvalidCredsError
from libcloud.compute.base import Node
from libcloud.compute.base import NodeImage
from libcloud.compute.types import NodeState

from gateway.cimi.errors import BadRequest
from gateway.cimi.errors import Conflict
from gateway.cimi.errors import NotFound
from gateway.cimi.errors import ProviderFailed
from gateway.cimi.errors import Unauthorized
from providers.base import CAPTURE
from providers.base import DELETE
from providers.base import Credentials
from providers.ec2 import EC2Provider
from tests.support.moto import FIXTURE_AMI
from tests.support.moto import FIXTURE_OWNER
from tests.support.moto import driver_for
from tests.support.moto import run_instance

CREDS = Credentials("AKIDEXAMPLE", "secretexample")
FIXTURE_IDS = ["ami-0a1b2c3d4e5f60001", "ami-0a1b2c3d4e5f60002"]
ALL_FIXTURE_IDS = [*FIXTURE_IDS, "ami-0a1b2c3d4e5f60003"]


def make_provider(endpoint: str, **settings: object) -> EC2Provider:
    return EC2Provider(
        "ec2", {"region": "us-east-1", "endpoint": endpoint, **settings}, store=None
    )


@pytest.fixture
def provider(moto_reset: str) -> EC2Provider:
    return make_provider(moto_reset)


@pytest.fixture
def machine(moto_reset: str) -> str:
    return run_instance(moto_reset)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- machine images ----------------------------------------------------------


def test_default_owner_self_lists_no_image_before_a_capture(provider):
    assert provider.list_machine_images(CREDS) == []


def test_images_of_a_configured_owner(moto_reset):
    provider = make_provider(moto_reset, image_owners=[FIXTURE_OWNER])

    images = provider.list_machine_images(CREDS)

    assert [image["id"] for image in images] == FIXTURE_IDS
    first = images[0]
    assert first["name"] == "gateway-test-linux-x86_64"
    assert first["description"] == "Test Linux on x86_64"
    assert first["state"] == "AVAILABLE"
    assert first["type"] == "IMAGE"
    assert first["imageLocation"] == f"ec2://{FIXTURE_IDS[0]}"
    assert first["operations"] == (DELETE,)
    assert first["created"].tzinfo is not None


def test_owners_are_merged_without_duplicates(moto_reset, machine):
    # moto aliases every fixture AMI to "amazon": the owner id lists two again.
    provider = make_provider(moto_reset, image_owners=["self", FIXTURE_OWNER, "amazon"])
    captured = provider.capture(CREDS, machine, {"name": "merged"})

    ids = [image["id"] for image in provider.list_machine_images(CREDS)]

    assert ids == sorted([*ALL_FIXTURE_IDS, captured["id"]])


def test_get_reads_any_image_whatever_the_owners(provider):
    image = provider.get_machine_image(CREDS, FIXTURE_AMI)

    assert image["id"] == FIXTURE_AMI
    assert image["name"] == "gateway-test-linux-x86_64"


@pytest.mark.parametrize(
    "image_id", ["ami-12345678", "not-an-ami"], ids=["unknown", "malformed"]
)
def test_get_unknown_image_is_not_found(provider, image_id):
    with pytest.raises(NotFound) as caught:
        provider.get_machine_image(CREDS, image_id)

    assert "InvalidAMIID" in caught.value.message


def test_delete_unknown_image_is_not_found(provider):
    with pytest.raises(NotFound):
        provider.delete_machine_image(CREDS, "ami-12345678")


# -- machines ----------------------------------------------------------------


def test_list_machines(provider, machine):
    [listed] = provider.list_machines(CREDS)

    assert listed["id"] == machine
    assert listed["name"] == "test-machine"
    assert listed["state"] == "STARTED"
    assert listed["cpu"] == 2  # t3.micro
    assert listed["memory"] == 1024 * 1024  # 1 GiB in KiB
    assert listed["cpuArch"] == "x86_64"
    assert listed["operations"] == (CAPTURE,)
    assert listed["created"].tzinfo is not None
    assert provider.get_machine(CREDS, machine) == listed


def test_stopped_machine_can_still_be_captured(moto_reset, provider, machine):
    driver = driver_for(moto_reset)
    driver.stop_node(driver.list_nodes(ex_node_ids=[machine])[0])

    stopped = provider.get_machine(CREDS, machine)

    assert stopped["state"] == "STOPPED"
    assert stopped["operations"] == (CAPTURE,)


def test_terminated_machine_is_gone(moto_reset, provider, machine):
    driver = driver_for(moto_reset)
    driver.destroy_node(driver.list_nodes(ex_node_ids=[machine])[0])

    assert provider.list_machines(CREDS) == []
    with pytest.raises(NotFound):
        provider.get_machine(CREDS, machine)
    with pytest.raises(NotFound):
        provider.capture(CREDS, machine, {"name": "too-late"})


def test_get_unknown_machine_is_not_found(provider):
    with pytest.raises(NotFound):
        provider.get_machine(CREDS, "i-0123456789abcdef0")


# -- capture -----------------------------------------------------------------


def test_capture_get_delete_cycle(provider, machine):
    image = provider.capture(
        CREDS, machine, {"name": "my-capture", "description": "from a test"}
    )

    assert image["id"].startswith("ami-")
    assert image["name"] == "my-capture"
    assert image["description"] == "from a test"
    assert image["state"] == "AVAILABLE"  # moto: at once; AWS: CREATING first
    assert provider.list_machine_images(CREDS) == [image]
    assert provider.get_machine_image(CREDS, image["id"]) == image

    provider.delete_machine_image(CREDS, image["id"])

    assert provider.list_machine_images(CREDS) == []
    with pytest.raises(NotFound):
        provider.get_machine_image(CREDS, image["id"])
    with pytest.raises(NotFound):
        provider.delete_machine_image(CREDS, image["id"])


def test_capture_without_name_names_the_image_after_the_machine(provider, machine):
    image = provider.capture(CREDS, machine, {})

    assert image["name"].startswith(f"{machine}-")


def test_capture_unknown_machine_is_not_found(provider):
    with pytest.raises(NotFound):
        provider.capture(CREDS, "i-0123456789abcdef0", {"name": "nothing"})


def test_capture_with_a_taken_name_is_a_conflict(provider, machine):
    provider.capture(CREDS, machine, {"name": "twice"})

    with pytest.raises(Conflict):
        provider.capture(CREDS, machine, {"name": "twice"})

    assert len(provider.list_machine_images(CREDS)) == 1


# -- pure mapping ------------------------------------------------------------


def fake_node(status: str, root: str = "ebs", size: str = "m5.large") -> Node:
    extra = {
        "status": status,
        "root_device_type": root,
        "instance_type": size,
        "architecture": "x86_64",
    }
    # libcloud's own state is UNKNOWN for stopping: the mapping must not read it.
    return Node("i-0f", "web", NodeState.UNKNOWN, [], [], None, extra=extra)


@pytest.mark.parametrize(
    ("status", "state", "operations"),
    [
        ("pending", "CREATING", ()),
        ("running", "STARTED", (CAPTURE,)),
        ("stopping", "STOPPING", ()),
        ("stopped", "STOPPED", (CAPTURE,)),
        ("shutting-down", "DELETING", ()),
        ("terminated", "DELETING", ()),
        ("rebooting", "STARTING", ()),
        ("something-new", "ERROR", ()),
    ],
)
def test_machine_state_table(status, state, operations):
    machine = EC2Provider("ec2", {"region": "us-east-1"}, None).to_machine(
        fake_node(status)
    )

    assert (machine["state"], machine["operations"]) == (state, operations)


def test_machine_mapping_details():
    to_machine = EC2Provider("ec2", {"region": "us-east-1"}, None).to_machine

    m5 = to_machine(fake_node("running"))
    assert (m5["id"], m5["name"], m5["cpu"], m5["memory"]) == (
        "i-0f",
        "web",
        2,
        8 * 1024 * 1024,
    )
    assert m5["created"] is None
    assert to_machine(fake_node("running", root="instance-store"))["operations"] == ()
    unknown = to_machine(fake_node("running", size="x99.huge"))
    assert (unknown["cpu"], unknown["memory"]) == (None, None)


@pytest.mark.parametrize(
    ("ec2_state", "state"),
    [
        ("pending", "CREATING"),
        ("available", "AVAILABLE"),
        ("deregistered", "DELETING"),
        ("failed", "ERROR"),
        ("invalid", "ERROR"),
        ("error", "ERROR"),
        (None, "ERROR"),
    ],
)
def test_image_state_table(ec2_state, state):
    provider = EC2Provider("ec2", {"region": "us-east-1"}, None)
    image = NodeImage("ami-1", "one", None, extra={"state": ec2_state})

    assert provider.to_machine_image(image)["state"] == state


def test_image_created_is_timezone_aware():
    provider = EC2Provider("ec2", {"region": "us-east-1"}, None)
    naive = NodeImage(
        "ami-1", None, None, extra={"creation_date": datetime(2024, 1, 2)}
    )

    mapped = provider.to_machine_image(naive)

    assert mapped["created"] == datetime(2024, 1, 2, tzinfo=UTC)
    assert mapped["name"] == "ami-1"


# -- errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ex", "expected"),
    [
        (BaseHTTPError(400, "InvalidAMIID.NotFound: no ami-1"), NotFound),
        (BaseHTTPError(400, "InvalidAMIID.Malformed: bad id"), NotFound),
        (BaseHTTPError(400, "InvalidInstanceID.NotFound: no i-1"), NotFound),
        (BaseHTTPError(400, "InvalidInstanceID.Malformed: bad"), NotFound),
        (InvalidCredsError("AuthFailure: not you"), Unauthorized),
        (InvalidCredsError("InvalidClientTokenId: no such key"), Unauthorized),
        (InvalidCredsError("SignatureDoesNotMatch: bad sig"), Unauthorized),
        (BaseHTTPError(403, "UnauthorizedOperation: denied"), Unauthorized),
        (BaseHTTPError(400, "InvalidAMIName.Duplicate: taken"), Conflict),
        (BaseHTTPError(400, "IncorrectInstanceState: busy"), Conflict),
        (BaseHTTPError(400, "InvalidParameterValue: bad value"), BadRequest),
        (BaseHTTPError(503, "RequestLimitExceeded: slow down"), None),
        (BaseHTTPError(500, "no code here"), None),
        (ValueError("InvalidAMIID.NotFound: not from the cloud"), None),
    ],
)
def test_translate(ex, expected):
    error = EC2Provider("ec2", {"region": "us-east-1"}, None).translate(ex)

    if expected is None:
        assert error is None
    else:
        assert type(error) is expected
        # The cloud's own words reach the client, without libcloud's quotes.
        assert error.message == (ex.value if hasattr(ex, "value") else ex.message)


def test_unknown_cloud_error_is_a_bad_gateway_with_the_cloud_message():
    provider = EC2Provider("ec2", {"region": "us-east-1"}, None)

    with pytest.raises(ProviderFailed) as caught, provider.calling(CREDS):
        raise BaseHTTPError(503, "RequestLimitExceeded: slow down")

    assert caught.value.status == 502
    assert "RequestLimitExceeded: slow down" in caught.value.message


def test_unreachable_endpoint_is_a_bad_gateway():
    provider = make_provider(f"http://127.0.0.1:{closed_port()}", timeout=5)

    with pytest.raises(ProviderFailed) as caught:
        provider.list_machines(CREDS)

    assert caught.value.status == 502


def test_error_messages_never_carry_the_secret(provider):
    # moto echoes a malformed id back; here the id carries the secret.
    with pytest.raises(NotFound) as caught:
        provider.get_machine_image(CREDS, f"x-{CREDS.secret}")

    assert "Invalid id" in caught.value.message
    assert CREDS.secret not in caught.value.message
    assert CREDS.secret not in str(caught.value)


# -- configuration -----------------------------------------------------------


def test_driver_reaches_the_configured_endpoint():
    secure = EC2Provider(
        "ec2", {"region": "eu-west-1", "endpoint": "https://ec2.example.test"}, None
    ).make_driver(CREDS)
    amazon = EC2Provider("ec2", {"region": "eu-west-1"}, None).make_driver(CREDS)

    assert (secure.connection.host, secure.connection.port) == ("ec2.example.test", 443)
    assert secure.connection.secure
    assert amazon.connection.host == "ec2.eu-west-1.amazonaws.com"
    assert secure.signature_version == amazon.signature_version == "4"


def test_endpoint_that_is_no_url_fails_cleanly():
    provider = make_provider("127.0.0.1:5000")

    with pytest.raises(ProviderFailed):
        provider.driver(CREDS)


def test_entry_point_and_credentials_need_no_call():
    provider = make_provider(f"http://127.0.0.1:{closed_port()}")

    provider.check_credentials(CREDS)

    assert provider.entry_point(CREDS) == {
        "name": "ec2",
        "description": "EC2 region us-east-1",
        "created": None,
    }
