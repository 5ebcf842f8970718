"""The OpenStack provider against the real test stack: Keystone, Nova, Glance."""

from __future__ import annotations

import base64
import time

import pytest
from libcloud.compute.base import StorageVolume

from gateway.cimi.errors import BadRequest
from gateway.cimi.errors import Conflict
from gateway.cimi.errors import NotFound
from gateway.cimi.errors import Unauthorized
from gateway.store import Store
from providers.base import Credentials
from providers.base import MachineSpec
from providers.base import VolumeSpec
from providers.openstack import MACHINE_STATE
from providers.openstack import OpenStackProvider
from providers.openstack import machine_state
from tests.support.openstack import IMAGE_NAME
from tests.support.openstack import libcloud_driver


@pytest.fixture
def provider(openstack, tmp_path) -> OpenStackProvider:
    settings = {
        "auth_url": openstack.auth_url,
        "project": openstack.project,
        "region": openstack.region,
        "timeout": 60,
    }
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    return OpenStackProvider("openstack", settings, store)


@pytest.fixture
def creds(openstack) -> Credentials:
    return Credentials(openstack.username, openstack.password)


def wait_state(provider, creds, machine_id, state, timeout=60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        machine = provider.get_machine(creds, machine_id)
        if machine["state"] == state:
            return machine
        assert time.monotonic() < deadline, f"still {machine['state']}, not {state}"
        time.sleep(0.3)


def image_id(provider, creds) -> str:
    images = provider.list_machine_images(creds)
    return next(i["id"] for i in images if i["name"] == IMAGE_NAME)


def test_configurations_are_the_flavors_in_kib(provider, creds):
    configs = {c["name"]: c for c in provider.list_machine_configurations(creds)}

    assert configs["m1.small"]["cpu"] == 1
    assert configs["m1.small"]["memory"] == 2048 * 1024
    assert configs["m1.small"]["disks"] == [{"capacity": 20 * 1024 * 1024}]
    one = provider.get_machine_configuration(creds, configs["m1.tiny"]["id"])
    assert one["memory"] == 512 * 1024
    with pytest.raises(NotFound):
        provider.get_machine_configuration(creds, "no-such-flavor")


def test_the_bootstrapped_image_is_available(provider, creds):
    image = provider.get_machine_image(creds, image_id(provider, creds))

    assert (image["name"], image["state"], image["type"]) == (
        IMAGE_NAME,
        "AVAILABLE",
        "IMAGE",
    )
    with pytest.raises(NotFound):
        provider.get_machine_image(creds, "0f5e3c4e-0000-4000-8000-000000000000")


def test_a_wrong_password_is_unauthorized(provider, openstack):
    with pytest.raises(Unauthorized):
        provider.check_credentials(Credentials(openstack.username, "wrong"))


def test_a_token_nova_refuses_is_renewed_once_and_the_call_made(provider, creds):
    provider.list_machines(creds)
    driver = provider.driver(creds)
    # What an expired or revoked token looks like from here: Nova says 401.
    for connection in (driver.connection, driver.image_connection):
        connection.auth_token = "revoked"
        connection.get_auth_class().auth_token = "revoked"

    assert isinstance(provider.list_machines(creds), list)
    assert provider.list_machine_images(creds)
    assert driver.connection.auth_token not in (None, "revoked")


def test_a_machine_lives_acts_is_captured_and_goes(provider, creds):
    configs = provider.list_machine_configurations(creds)
    tiny = next(c["id"] for c in configs if c["name"] == "m1.tiny")
    spec = MachineSpec(
        config_id=tiny,
        image_id=image_id(provider, creds),
        name="web",
        description="a web server",
        properties={"tier": "web"},
    )
    machine = provider.create_machine(creds, spec)
    try:
        assert machine["state"] in ("CREATING", "STARTED")
        machine = wait_state(provider, creds, machine["id"], "STARTED")
        assert (machine["name"], machine["description"]) == ("web", "a web server")
        assert machine["property"] == {"tier": "web"}
        assert (machine["cpu"], machine["memory"]) == (1, 512 * 1024)
        assert {"stop", "restart", "pause", "suspend", "capture"} <= set(
            machine["operations"]
        )
        listed = {m["id"]: m for m in provider.list_machines(creds)}
        assert listed[machine["id"]]["name"] == "web"

        for action, settled in (
            ("stop", "STOPPED"),
            ("start", "STARTED"),
            ("pause", "PAUSED"),
            ("start", "STARTED"),
            ("suspend", "SUSPENDED"),
            ("start", "STARTED"),
            ("restart", "STARTED"),
        ):
            provider.act(creds, machine["id"], action)
            wait_state(provider, creds, machine["id"], settled)
        with pytest.raises(Conflict):
            provider.act(creds, machine["id"], "start")  # already running

        edited = provider.edit_machine(
            creds,
            machine["id"],
            {"name": "api", "description": "", "property": {"tier": "api"}},
        )
        assert (edited["name"], edited["description"]) == ("api", "")
        assert edited["property"] == {"tier": "api"}
        with pytest.raises(BadRequest):
            provider.edit_machine(
                creds, machine["id"], {"property": {"description": "x"}}
            )

        image = provider.capture(
            creds, machine["id"], {"name": "api-golden", "description": "golden"}
        )
        assert image["state"] in ("CREATING", "AVAILABLE")
        deadline = time.monotonic() + 60
        while provider.get_machine_image(creds, image["id"])["state"] != "AVAILABLE":
            assert time.monotonic() < deadline
            time.sleep(0.3)
        captured = provider.get_machine_image(creds, image["id"])
        assert (captured["name"], captured["type"]) == ("api-golden", "SNAPSHOT")
        assert captured["description"] == "golden"
        provider.delete_machine_image(creds, image["id"])
        with pytest.raises(NotFound):
            provider.get_machine_image(creds, image["id"])
    finally:
        provider.delete_machine(creds, machine["id"])
    deadline = time.monotonic() + 60
    while machine["id"] in {m["id"] for m in provider.list_machines(creds)}:
        assert time.monotonic() < deadline
        time.sleep(0.3)
    with pytest.raises(NotFound):
        provider.get_machine(creds, machine["id"])


def test_a_machine_asked_to_start_stopped_is_stopped_once_built(provider, creds):
    spec = MachineSpec(
        config_id="1", image_id=image_id(provider, creds), initial_state="STOPPED"
    )
    machine = provider.create_machine(creds, spec)
    try:
        assert machine["state"] in ("STOPPING", "STOPPED")
        wait_state(provider, creds, machine["id"], "STOPPED")
    finally:
        provider.delete_machine(creds, machine["id"])


@pytest.mark.parametrize(
    ("status", "task", "state"),
    [
        ("BUILD", "spawning", "CREATING"),
        ("ACTIVE", None, "STARTED"),
        ("ACTIVE", "powering-off", "STOPPING"),
        ("SHUTOFF", None, "STOPPED"),
        ("SHUTOFF", "powering-on", "STARTING"),
        ("ACTIVE", "pausing", "PAUSING"),
        ("PAUSED", None, "PAUSED"),
        ("ACTIVE", "suspending", "SUSPENDING"),
        ("SUSPENDED", None, "SUSPENDED"),
        ("REBOOT", "rebooting", "STARTING"),
        ("HARD_REBOOT", "rebooting_hard", "STARTING"),
        ("RESIZE", "resize_prep", "STARTING"),
        ("ACTIVE", "deleting", "DELETING"),
        ("ERROR", None, "ERROR"),
        ("SOMETHING_NEW", None, "ERROR"),
    ],
)
def test_nova_states_are_mapped_by_our_table(status, task, state):
    assert machine_state(status, task) == state
    assert set(MACHINE_STATE.values()) <= {
        "CREATING",
        "STARTING",
        "STARTED",
        "STOPPED",
        "PAUSED",
        "SUSPENDED",
        "DELETING",
        "ERROR",
    }


def demo_driver(openstack):
    """The stack's other tenant: user demo (a member) in project demo."""
    from dataclasses import replace

    return libcloud_driver(replace(openstack, username="demo", project="demo"))


def test_another_projects_servers_and_images_are_not_this_mounts(
    provider, creds, openstack
):
    """The mount's admin token could read any project's server by id; the
    mount serves its own project only."""
    demo = demo_driver(openstack)
    size = next(s for s in demo.list_sizes() if s.name == "m1.tiny")
    image = next(i for i in demo.list_images() if i.name == IMAGE_NAME)
    theirs = demo.create_node(name="theirs", size=size, image=image)
    try:
        with pytest.raises(NotFound):
            provider.get_machine(creds, theirs.id)
        with pytest.raises(NotFound):
            provider.act(creds, theirs.id, "stop")
        with pytest.raises(NotFound):
            provider.delete_machine(creds, theirs.id)
        assert theirs.id not in {m["id"] for m in provider.list_machines(creds)}
        assert demo.ex_get_node_details(theirs.id) is not None  # still there
    finally:
        demo.destroy_node(theirs)


def test_ids_that_are_not_uuids_are_404_not_502(provider, creds):
    for bad in ("detail", "..", "x" * 40):
        with pytest.raises(NotFound):
            provider.get_machine(creds, bad)
        with pytest.raises(NotFound):
            provider.get_machine_image(creds, bad)


def test_user_data_reaches_nova_byte_for_byte(provider, creds, openstack):
    raw = b"#!/bin/sh\n\xc3\xa9\x80\xff\x00"
    spec = MachineSpec(
        config_id="1",
        image_id=image_id(provider, creds),
        user_data=base64.b64encode(raw).decode(),
    )
    machine = provider.create_machine(creds, spec)
    try:
        # Nova shows user data to an admin from microversion 2.3 on.
        answer = provider.driver(creds).connection.request(
            f"/servers/{machine['id']}",
            headers={"X-OpenStack-Nova-API-Version": "2.3"},
        )
        stored = answer.object["server"]["OS-EXT-SRV-ATTR:user_data"]
        assert base64.b64decode(stored) == raw
    finally:
        provider.delete_machine(creds, machine["id"])


def test_a_refused_edit_renames_nothing(provider, creds):
    machine = provider.create_machine(
        creds, MachineSpec(config_id="1", image_id=image_id(provider, creds), name="a")
    )
    try:
        wait_state(provider, creds, machine["id"], "STARTED")
        for values in (
            {"name": "b", "property": {"description": "reserved"}},
            {"name": "b", "property": {"k": "v" * 256}},
        ):
            with pytest.raises(BadRequest):
                provider.edit_machine(creds, machine["id"], values)
            assert provider.get_machine(creds, machine["id"])["name"] == "a"
    finally:
        provider.delete_machine(creds, machine["id"])


def test_a_flavor_made_after_the_flavors_were_read_is_found(provider, creds):
    provider.list_machine_configurations(creds)  # read, and kept
    connection = provider.driver(creds).connection
    flavor = {"id": "gw-new", "name": "gw.new", "ram": 256, "vcpus": 1, "disk": 1}
    connection.request("/flavors", method="POST", data={"flavor": flavor})
    try:
        config = provider.get_machine_configuration(creds, "gw-new")
        assert config["memory"] == 256 * 1024
    finally:
        connection.request("/flavors/gw-new", method="DELETE")


@pytest.mark.parametrize(
    ("status", "task", "operations"),
    [
        ("ACTIVE", None, {"edit", "delete", "stop", "restart", "pause", "suspend"}),
        ("ACTIVE", "powering-off", {"delete"}),  # Nova edits no busy server
        ("SHUTOFF", None, {"edit", "delete", "start"}),
        ("SHELVED", None, {"delete", "start"}),  # start unshelves; no snapshot
        ("ERROR", None, {"delete"}),
    ],
)
def test_operations_are_what_nova_takes_in_that_status(status, task, operations):
    from libcloud.compute.base import Node

    provider = OpenStackProvider(
        "o", {"auth_url": "http://127.0.0.1:1/v3", "project": "p"}, None
    )
    node = Node(
        "5f1e1d2c-0000-4000-8000-000000000001",
        "n",
        None,
        [],
        [],
        None,
        extra={"nova_status": status, "task_state": task, "metadata": {}},
    )

    offered = set(provider.to_machine(node)["operations"]) - {"capture"}
    assert offered == operations
    assert ("capture" in provider.to_machine(node)["operations"]) == (
        status in ("ACTIVE", "SHUTOFF") and task is None
    )


def _until(read, done, timeout=60):
    """Read until ``done`` holds of what ``read`` answers; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"still {value!r}"
        time.sleep(0.3)


def test_another_projects_snapshot_is_not_this_mounts(provider, creds, openstack):
    """The mount's admin token reads any project's snapshot by id (Nova's
    snapshot proxy does not say whose): read, restore and delete are 404, and
    the snapshot is still there."""
    demo = demo_driver(openstack)
    volume = demo.create_volume(1, "theirs")
    _until(lambda: demo.ex_get_volume(volume.id).extra["state"], "available".__eq__)
    snapshot = demo.create_volume_snapshot(volume, "their-snap")
    try:
        _until(
            lambda: {s.id: s.extra["status"] for s in demo.ex_list_snapshots()},
            lambda found: found.get(snapshot.id) == "available",
        )
        config = provider.list_volume_configurations(creds)[0]["id"]
        with pytest.raises(NotFound):
            provider.get_volume_image(creds, snapshot.id)
        with pytest.raises(NotFound):
            provider.create_volume(
                creds, VolumeSpec(config, 1, image_id=snapshot.id, name="stolen")
            )
        with pytest.raises(NotFound):
            provider.delete_volume_image(creds, snapshot.id)
        assert snapshot.id not in {i["id"] for i in provider.list_volume_images(creds)}
        assert "stolen" not in {v["name"] for v in provider.list_volumes(creds)}
        # Their own mount (a member's token) reads it, and their volume.
        settings = {**provider.settings, "project": "demo"}
        mine = OpenStackProvider("openstack", settings, provider.store)
        demo_creds = Credentials("demo", openstack.password)
        assert mine.get_volume_image(demo_creds, snapshot.id)["state"] == "AVAILABLE"
        assert mine.get_volume(demo_creds, volume.id)["name"] == "theirs"
        time.sleep(1)  # a delete Cinder had taken would show by now
        theirs = {s.id: s.extra["status"] for s in demo.ex_list_snapshots()}
        assert theirs.get(snapshot.id) == "available"
    finally:
        demo.destroy_volume_snapshot(snapshot)
        _until(
            lambda: {s.id for s in demo.ex_list_snapshots()},
            lambda ids: snapshot.id not in ids,
        )
        demo.destroy_volume(volume)


def test_an_attached_volume_is_captured(provider, creds):
    """Cinder snapshots an in-use volume only when forced; EC2 and the mock
    capture an attached volume, and so does this provider."""
    configs = provider.list_machine_configurations(creds)
    tiny = next(c["id"] for c in configs if c["name"] == "m1.tiny")
    spec = MachineSpec(config_id=tiny, image_id=image_id(provider, creds), name="vm")
    machine = provider.create_machine(creds, spec)
    config = provider.list_volume_configurations(creds)[0]["id"]
    volume = provider.create_volume(creds, VolumeSpec(config, 1, name="attached"))
    snapshot = None
    try:
        wait_state(provider, creds, machine["id"], "STARTED")
        _until(
            lambda: provider.get_volume(creds, volume["id"])["state"],
            "AVAILABLE".__eq__,
        )
        provider.attach_volume(creds, machine["id"], volume["id"], "/dev/vdb")
        _until(
            lambda: provider.get_machine_volume(creds, machine["id"], volume["id"]),
            lambda attached: attached["state"] == "ATTACHED",
        )
        snapshot = provider.create_volume_image(
            creds, volume["id"], {"name": "while-attached"}
        )
        assert snapshot["state"] in ("CREATING", "AVAILABLE")
        image = _until(
            lambda: provider.get_volume_image(creds, snapshot["id"]),
            lambda image: image["state"] != "CREATING",
        )
        assert (image["state"], image["name"]) == ("AVAILABLE", "while-attached")
        assert image["imageLocation"] == volume["id"]
        assert image["operations"] == ("delete",)
    finally:
        if snapshot is not None:
            provider.delete_volume_image(creds, snapshot["id"])
            # Answered once Cinder has dropped it (it deletes in the background).
            with pytest.raises(NotFound):
                provider.get_volume_image(creds, snapshot["id"])
        provider.delete_machine(creds, machine["id"])  # Nova detaches it
        _until(
            lambda: provider.get_volume(creds, volume["id"])["operations"],
            lambda operations: "delete" in operations,
        )
        provider.delete_volume(creds, volume["id"])


@pytest.mark.parametrize("status", ["reserved", "attaching", "detaching", "extending"])
def test_a_volume_cinder_cannot_snapshot_is_409_not_cinder_s_400(status):
    """Shown AVAILABLE (its attachment says how far), but Cinder snapshots
    only an available or in-use volume, forced or not."""
    provider = OpenStackProvider("openstack", {}, None)
    volume = StorageVolume("v1", "v", 1, None, extra={"state": status})
    with pytest.raises(Conflict):
        provider.create_snapshot(None, volume, {})
