"""The OpenStack provider against the real test stack: Keystone, Nova, Glance."""

from __future__ import annotations

import time

import pytest

from gateway.cimi.errors import BadRequest
from gateway.cimi.errors import Conflict
from gateway.cimi.errors import NotFound
from gateway.cimi.errors import Unauthorized
from gateway.store import Store
from providers.base import Credentials
from providers.base import MachineSpec
from providers.openstack import MACHINE_STATE
from providers.openstack import OpenStackProvider
from providers.openstack import machine_state
from tests.support.openstack import IMAGE_NAME


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
