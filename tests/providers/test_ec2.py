"""The ec2 provider through libcloud's real EC2 driver, against moto on 127.0.0.1."""

from __future__ import annotations

import base64
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
from gateway.cimi.errors import Forbidden
from gateway.cimi.errors import NotFound
from gateway.cimi.errors import ProviderFailed
from gateway.cimi.errors import ProviderUnavailable
from gateway.cimi.errors import Unauthorized
from providers.base import CAPTURE
from providers.base import DELETE
from providers.base import EDIT
from providers.base import RESTART
from providers.base import START
from providers.base import STOP
from providers.base import Credentials
from providers.base import MachineSpec
from providers.base import decode_user_data
from providers.base import machine_operations
from providers.ec2 import EC2Provider
from providers.families import machine_actions
from tests.support.moto import FIXTURE_AMI
from tests.support.moto import FIXTURE_OWNER
from tests.support.moto import describe
from tests.support.moto import driver_for
from tests.support.moto import run_instance
from tests.support.moto import user_data_of

CREDS = Credentials("AKIDEXAMPLE", "secretexample")
STARTED_OPERATIONS = (EDIT, DELETE, STOP, RESTART, CAPTURE)
STOPPED_OPERATIONS = (EDIT, DELETE, START, CAPTURE)
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
    assert listed["description"] == ""
    assert listed["property"] == {}
    assert listed["state"] == "STARTED"
    assert listed["cpu"] == 2  # t3.micro
    assert listed["memory"] == 1024 * 1024  # 1 GiB in KiB
    assert listed["cpuArch"] == "x86_64"
    assert listed["operations"] == STARTED_OPERATIONS
    assert listed["created"].tzinfo is not None
    assert provider.get_machine(CREDS, machine) == listed


def test_stopped_machine_can_still_be_captured(moto_reset, provider, machine):
    driver = driver_for(moto_reset)
    driver.stop_node(driver.list_nodes(ex_node_ids=[machine])[0])

    stopped = provider.get_machine(CREDS, machine)

    assert stopped["state"] == "STOPPED"
    assert stopped["operations"] == STOPPED_OPERATIONS


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


# -- machine configurations --------------------------------------------------


def test_configurations_are_the_region_instance_types(provider):
    configs = provider.list_machine_configurations(CREDS)

    assert len(configs) > 500  # us-east-1: 800 in libcloud 3.9
    by_id = {config["id"]: config for config in configs}
    assert len(by_id) == len(configs)
    assert by_id["t3.micro"] == {
        "id": "t3.micro",
        "name": "t3.micro",
        "description": "General purpose, 2 vCPU, 1 GiB of memory, EBS only",
        "cpu": 2,
        "memory": 1024 * 1024,
        "cpuArch": "x86_64",
    }
    assert provider.get_machine_configuration(CREDS, "t3.micro") == by_id["t3.micro"]


@pytest.mark.parametrize(
    ("size", "disks", "arch"),
    [
        ("m5d.large", [75], "x86_64"),
        ("p4d.24xlarge", [1000] * 8, "x86_64"),
        ("g4dn.xlarge", [125], "x86_64"),  # "125 GB NVMe SSD": one disk
        ("m6g.large", None, "arm64"),
        ("t1.micro", None, None),  # "Variable" processor: arch unknown
    ],
)
def test_configuration_disks_and_arch(size, disks, arch):
    config = pure_provider().get_machine_configuration(CREDS, size)

    if disks is None:
        assert "disk" not in config
    else:
        gib_in_kib = 1024 * 1024
        expected = [{"capacity": gb * gib_in_kib, "format": "unknown"} for gb in disks]
        assert config["disk"] == expected
    assert config.get("cpuArch") == arch


def test_unknown_configuration_is_not_found(provider):
    with pytest.raises(NotFound):
        provider.get_machine_configuration(CREDS, "x99.huge")


def test_configurations_are_mapped_once_and_handed_out_as_copies(monkeypatch):
    provider = pure_provider()
    mapped = []
    to_configuration = provider.to_machine_configuration
    monkeypatch.setattr(
        provider,
        "to_machine_configuration",
        lambda size: mapped.append(size.id) or to_configuration(size),
    )
    first = provider.list_machine_configurations(CREDS)
    first[0]["name"] = "changed"
    mapped_once = len(mapped)

    again = provider.list_machine_configurations(CREDS)

    assert again[0]["name"] != "changed"
    assert mapped_once == len(first)
    assert len(mapped) == mapped_once  # the second list is the cached one


def test_configurations_follow_the_region():
    def count(region: str) -> int:
        provider = EC2Provider("ec2", {"region": region}, None)
        return len(provider.list_machine_configurations(CREDS))

    assert count("eu-west-1") < count("us-east-1")
    # libcloud knows af-south-1 but none of its types: all of them are offered.
    assert count("af-south-1") > count("us-east-1")


# -- creating machines ---------------------------------------------------------


def spec(**given: object) -> MachineSpec:
    return MachineSpec(**{"config_id": "t3.micro", "image_id": FIXTURE_AMI, **given})


def test_create_with_everything(moto_reset, provider):
    driver_for(moto_reset).create_key_pair("my-key")
    script = b"#!/bin/sh\necho \x00binary\n"

    machine = provider.create_machine(
        CREDS,
        spec(
            name="web",
            description="front end",
            properties={"team": "blue", "env": "prod"},
            key_name="my-key",
            user_data=base64.b64encode(script).decode(),
        ),
    )

    assert machine["id"].startswith("i-")
    assert machine["name"] == "web"
    assert machine["description"] == "front end"
    assert machine["property"] == {"env": "prod", "team": "blue"}
    assert machine["state"] == "STARTED"  # moto: running at the next describe
    assert (machine["cpu"], machine["memory"]) == (2, 1024 * 1024)
    assert machine["operations"] == STARTED_OPERATIONS
    assert provider.list_machines(CREDS) == [machine]
    node = describe(moto_reset, machine["id"])
    assert node.extra["key_name"] == "my-key"
    assert node.extra["instance_type"] == "t3.micro"
    assert node.extra["image_id"] == FIXTURE_AMI
    assert user_data_of(moto_reset, machine["id"]) == script


def test_create_with_nothing_optional(moto_reset, provider):
    machine = provider.create_machine(CREDS, spec())

    assert machine["name"] == machine["id"]
    assert (machine["description"], machine["property"]) == ("", {})
    assert user_data_of(moto_reset, machine["id"]) == b""


def test_user_data_may_be_wrapped_over_lines(moto_reset, provider):
    wrapped = "IyEvYmluL3No\n  CmVjaG8gaGk=\n"

    machine = provider.create_machine(CREDS, spec(user_data=wrapped))

    assert user_data_of(moto_reset, machine["id"]) == b"#!/bin/sh\necho hi"


def test_create_stopped(provider):
    machine = provider.create_machine(CREDS, spec(initial_state="STOPPED"))

    assert machine["state"] == "STOPPED"
    assert machine["operations"] == STOPPED_OPERATIONS


@pytest.mark.parametrize(
    "unknown",
    [
        NotFound("no machine"),
        BaseHTTPError(400, "InvalidInstanceID.NotFound: not yet"),
    ],
    ids=["empty-describe", "describe-error"],
)
def test_machine_ec2_does_not_describe_yet_is_returned_as_launched(
    moto_reset, provider, monkeypatch, caplog, unknown
):
    # Real EC2 is eventually consistent: DescribeInstances may not know an
    # instance for a few seconds after RunInstances, and it is pending then.
    def not_yet(driver, machine_id):
        raise unknown

    monkeypatch.setattr(provider, "find_node", not_yet)

    machine = provider.create_machine(CREDS, spec(name="web", initial_state="STOPPED"))

    assert (machine["name"], machine["state"]) == ("web", "CREATING")
    # A pending instance cannot be stopped: it is left to run, and logged.
    assert describe(moto_reset, machine["id"]).extra["status"] == "running"
    assert "not stopped" in caplog.text


@pytest.mark.parametrize(
    ("given", "culprit"),
    [
        ({"user_data": "not base64!"}, "userData"),
        ({"user_data": "éé=="}, "userData"),
        ({"properties": {"Name": "x"}}, "'Name'"),
        ({"properties": {"Description": "x"}}, "'Description'"),
        ({"properties": {"aws:x": "y"}}, "'aws:x'"),
        ({"initial_state": "PAUSED"}, "initialState"),
    ],
)
def test_bad_create_is_refused_before_any_machine_exists(provider, given, culprit):
    with pytest.raises(BadRequest) as caught:
        provider.create_machine(CREDS, spec(**given))

    assert culprit in caught.value.message
    assert provider.list_machines(CREDS) == []


@pytest.mark.parametrize(
    ("given", "error"),
    [({"config_id": "x99.huge"}, NotFound), ({"image_id": "ami-12345678"}, NotFound)],
)
def test_create_from_unknown_config_or_image(provider, given, error):
    with pytest.raises(error):
        provider.create_machine(CREDS, spec(**given))


def test_decode_user_data():
    assert decode_user_data("") == b""
    assert decode_user_data("aGk=") == b"hi"
    with pytest.raises(BadRequest):
        decode_user_data("aGk")  # padding missing


# -- actions ---------------------------------------------------------------------


def test_stop_start_restart(provider, machine):
    stopped = provider.act(CREDS, machine, STOP)
    assert (stopped["state"], stopped["operations"]) == ("STOPPED", STOPPED_OPERATIONS)

    started = provider.act(CREDS, machine, START)
    assert (started["state"], started["operations"]) == ("STARTED", STARTED_OPERATIONS)

    restarted = provider.act(CREDS, machine, RESTART)
    assert restarted["state"] == "STARTED"


def test_restart_of_a_stopped_machine_starts_it(provider, machine):
    provider.act(CREDS, machine, STOP)

    assert provider.act(CREDS, machine, RESTART)["state"] == "STARTED"


@pytest.mark.parametrize("force", [False, True], ids=["plain", "forced"])
def test_stop_asks_ec2_for_force_when_told(provider, machine, monkeypatch, force):
    driver = provider.driver(CREDS)
    sent: list[dict] = []
    request = driver.connection.request

    def spy(action, params=None, *args, **kwargs):
        sent.append(dict(params or {}))
        return request(action, params, *args, **kwargs)

    monkeypatch.setattr(driver.connection, "request", spy)

    assert provider.act(CREDS, machine, STOP, force=force)["state"] == "STOPPED"
    [stop] = [params for params in sent if params["Action"] == "StopInstances"]
    assert stop.get("Force") == ("true" if force else None)


@pytest.mark.parametrize(
    ("first", "then"),
    [(None, START), (STOP, STOP)],
    ids=["start-started", "stop-stopped"],
)
def test_action_the_state_does_not_allow_is_a_conflict(provider, machine, first, then):
    if first:
        provider.act(CREDS, machine, first)

    with pytest.raises(Conflict):
        provider.act(CREDS, machine, then)


def test_act_on_unknown_machine_is_not_found(provider):
    with pytest.raises(NotFound):
        provider.act(CREDS, "i-0123456789abcdef0", STOP)


# -- editing -------------------------------------------------------------------


def test_edit_name_description_and_properties(moto_reset, provider):
    created = provider.create_machine(
        CREDS,
        spec(name="web", description="old", properties={"keep": "1", "drop": "2"}),
    )
    # A tag EC2 keeps for itself is no property: a replacement leaves it be.
    driver_for(moto_reset).ex_create_tags(
        describe(moto_reset, created["id"]), {"aws:internal": "x"}
    )

    edited = provider.edit_machine(
        CREDS,
        created["id"],
        {
            "name": "api",
            "description": "new",
            "property": {"keep": "changed", "new": "3"},
        },
    )

    assert edited["name"] == "api"
    assert edited["description"] == "new"
    assert edited["property"] == {"keep": "changed", "new": "3"}
    assert provider.get_machine(CREDS, created["id"]) == edited
    assert describe(moto_reset, created["id"]).extra["tags"] == {
        "Name": "api",
        "Description": "new",
        "keep": "changed",
        "new": "3",
        "aws:internal": "x",
    }


def test_edit_leaves_what_is_not_given(provider):
    created = provider.create_machine(
        CREDS, spec(name="web", description="d", properties={"a": "1"})
    )

    edited = provider.edit_machine(CREDS, created["id"], {"name": "api"})

    assert (edited["name"], edited["description"]) == ("api", "d")
    assert edited["property"] == {"a": "1"}


def test_edit_to_empty_removes_the_tags(moto_reset, provider):
    created = provider.create_machine(
        CREDS, spec(name="web", description="d", properties={"a": "1"})
    )

    edited = provider.edit_machine(
        CREDS, created["id"], {"name": "", "description": "", "property": {}}
    )

    assert edited["name"] == created["id"]
    assert (edited["description"], edited["property"]) == ("", {})
    assert describe(moto_reset, created["id"]).extra["tags"] == {}


def test_edit_with_a_reserved_property_is_refused(provider, machine):
    with pytest.raises(BadRequest):
        provider.edit_machine(CREDS, machine, {"property": {"aws:x": "y"}})

    assert provider.get_machine(CREDS, machine)["name"] == "test-machine"


# -- deleting ------------------------------------------------------------------


def test_delete_makes_the_machine_disappear(provider, machine):
    provider.delete_machine(CREDS, machine)

    assert provider.list_machines(CREDS) == []
    with pytest.raises(NotFound):
        provider.get_machine(CREDS, machine)
    with pytest.raises(NotFound):
        provider.delete_machine(CREDS, machine)


def test_a_stopped_machine_can_be_deleted(provider, machine):
    provider.act(CREDS, machine, STOP)

    provider.delete_machine(CREDS, machine)

    assert provider.list_machines(CREDS) == []


# -- pure mapping ------------------------------------------------------------


def fake_node(
    status: str, root: str = "ebs", size: str = "m5.large", tags: dict | None = None
) -> Node:
    extra = {
        "status": status,
        "root_device_type": root,
        "instance_type": size,
        "architecture": "x86_64",
        "tags": {"Name": "web"} if tags is None else tags,
    }
    # libcloud's own state is UNKNOWN for stopping: the mapping must not read it.
    return Node("i-0f", "web", NodeState.UNKNOWN, [], [], None, extra=extra)


def pure_provider() -> EC2Provider:
    return EC2Provider("ec2", {"region": "us-east-1"}, None)


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("pending", "CREATING"),
        ("running", "STARTED"),
        ("stopping", "STOPPING"),
        ("stopped", "STOPPED"),
        ("shutting-down", "DELETING"),
        ("terminated", "DELETING"),
        ("rebooting", "STARTING"),
        ("something-new", "ERROR"),
    ],
)
def test_machine_state_table(status, state):
    machine = pure_provider().to_machine(fake_node(status))

    # An EBS-backed machine offers all the shared table gives its state,
    # of the actions EC2 has (no pause, no suspend).
    assert (machine["state"], machine["operations"]) == (
        state,
        machine_operations(state, offered=machine_actions(pure_provider())),
    )


@pytest.mark.parametrize(
    ("root", "operations"),
    [
        ("ebs", STARTED_OPERATIONS),
        ("instance-store", (EDIT, DELETE, RESTART)),  # no stop, no capture
        (None, (EDIT, DELETE, STOP, RESTART)),  # unknown: EC2 decides
    ],
)
def test_root_device_limits_operations(root, operations):
    machine = pure_provider().to_machine(fake_node("running", root=root))

    assert machine["operations"] == operations


def test_machine_mapping_details():
    to_machine = pure_provider().to_machine

    m5 = to_machine(fake_node("running"))
    assert (m5["id"], m5["name"], m5["cpu"], m5["memory"]) == (
        "i-0f",
        "web",
        2,
        8 * 1024 * 1024,
    )
    assert m5["created"] is None
    unknown = to_machine(fake_node("running", size="x99.huge"))
    assert (unknown["cpu"], unknown["memory"]) == (None, None)


def test_machine_tags_are_name_description_and_properties():
    tags = {
        "Name": "web",
        "Description": "front end",
        "team": "blue",
        "aws:cloudformation:stack-name": "hidden",
        "AWS:Other": "hidden too",
        "env": "prod",
    }

    machine = pure_provider().to_machine(fake_node("running", tags=tags))

    assert machine["name"] == "web"
    assert machine["description"] == "front end"
    assert machine["property"] == {"env": "prod", "team": "blue"}


@pytest.mark.parametrize("tags", [{}, {"Name": ""}], ids=["no-tag", "empty-tag"])
def test_machine_without_name_is_named_by_its_id(tags):
    machine = pure_provider().to_machine(fake_node("running", tags=tags))

    assert (machine["name"], machine["description"]) == ("i-0f", "")


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
        (BaseHTTPError(403, "UnauthorizedOperation: denied"), Forbidden),
        (BaseHTTPError(400, "InvalidAMIName.Duplicate: taken"), Conflict),
        (BaseHTTPError(400, "IncorrectInstanceState: busy"), Conflict),
        (BaseHTTPError(400, "InvalidParameterValue: bad value"), BadRequest),
        (BaseHTTPError(400, "InvalidParameterCombination: no"), BadRequest),
        (BaseHTTPError(400, "UnsupportedOperation: no stop"), Conflict),
        (BaseHTTPError(500, "InsufficientInstanceCapacity: none"), ProviderUnavailable),
        (BaseHTTPError(503, "RequestLimitExceeded: slow down"), None),
        (BaseHTTPError(500, "no code here"), None),
        (ValueError("InvalidAMIID.NotFound: not from the cloud"), None),
    ],
)
def test_translate(ex, expected):
    error = pure_provider().translate(ex)

    if expected is None:
        assert error is None
    else:
        assert type(error) is expected
        # The cloud's own words reach the client, without libcloud's quotes.
        assert error.message == (ex.value if hasattr(ex, "value") else ex.message)


@pytest.mark.parametrize(
    ("text", "culprit"),
    [
        ("InvalidKeyPair.NotFound: The key pair 'k' does not exist", "credential"),
        ("InvalidInstanceType: x99.huge is not offered", "machineConfig"),
        ("InvalidUserData.Malformed: too long", "userData"),
        ("TagLimitExceeded: 51 tags", "property"),
    ],
)
def test_client_errors_name_the_attribute_they_came_from(text, culprit):
    error = pure_provider().translate(BaseHTTPError(400, text))

    assert type(error) is BadRequest
    assert error.message == f"{culprit}: {text}"


def test_unknown_cloud_error_is_a_bad_gateway_with_the_cloud_message():
    provider = EC2Provider("ec2", {"region": "us-east-1"}, None)

    with pytest.raises(ProviderFailed) as caught, provider.calling(CREDS, "test"):
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


def test_entry_point_needs_no_call():
    provider = make_provider(f"http://127.0.0.1:{closed_port()}")

    assert provider.describe() == {
        "name": "ec2",
        "description": "EC2 region us-east-1",
    }
