"""The embedded mock cloud: Deltacloud's fixtures, persisted, mapped to CIMI."""

from __future__ import annotations

import threading

import pytest
from libcloud.compute.base import Node
from libcloud.compute.types import NodeState

from gateway.cimi.errors import Conflict
from gateway.cimi.errors import NotFound
from gateway.cimi.errors import Unauthorized
from gateway.store import Store
from providers.base import CAPTURE
from providers.base import Credentials
from providers.mock import MACHINE_STATE
from providers.mock import MockProvider

CREDS = Credentials("mockuser", "mockpassword")


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(f"sqlite:///{tmp_path}/mock.sqlite3")


@pytest.fixture
def provider(store) -> MockProvider:
    return MockProvider("mock", {}, store)


def test_starts_with_deltacloud_fixtures(provider):
    images = provider.list_machine_images(CREDS)
    machines = provider.list_machines(CREDS)

    assert [(i["id"], i["description"]) for i in images] == [
        ("img1", "Fedora 10"),
        ("img2", "Fedora 10"),
        ("img3", "JBoss"),
    ]
    assert {i["state"] for i in images} == {"AVAILABLE"}
    assert [m["id"] for m in machines] == ["inst0", "inst1", "inst2", "inst3"]
    inst0 = machines[0]
    assert (inst0["cpu"], inst0["memory"]) == (1, 12288 * 1024)
    assert CAPTURE in inst0["operations"]
    assert CAPTURE not in machines[3]["operations"]


def test_only_mockuser_gets_in(provider):
    with pytest.raises(Unauthorized):
        provider.check_credentials(Credentials("mockuser", "nope"))
    provider.check_credentials(CREDS)


def test_capture_takes_the_name_as_id(provider):
    image = provider.capture(CREDS, "inst1", {"name": "some_name", "description": "d"})

    assert image["id"] == "some_name"
    assert image["imageLocation"] == "mock://some_name"
    assert provider.get_machine_image(CREDS, "some_name")["description"] == "d"


@pytest.mark.parametrize("name", [None, "has spaces", "a/b", "x" * 200])
def test_capture_with_an_unusable_name_gets_a_generated_id(provider, name):
    image = provider.capture(CREDS, "inst1", {"name": name} if name else {})

    assert image["id"].startswith("img-")
    assert image["name"] == (name or image["id"])


def test_capture_conflicts(provider):
    with pytest.raises(Conflict):
        provider.capture(CREDS, "inst1", {"name": "img1"})
    with pytest.raises(Conflict):
        provider.capture(CREDS, "inst3", {"name": "fresh"})
    with pytest.raises(NotFound):
        provider.capture(CREDS, "inst42", {"name": "fresh"})


def test_delete_then_gone(provider):
    provider.delete_machine_image(CREDS, "img2")

    with pytest.raises(NotFound):
        provider.get_machine_image(CREDS, "img2")
    with pytest.raises(NotFound):
        provider.delete_machine_image(CREDS, "img2")


def test_state_persists_for_a_new_provider_on_the_same_store(provider, store):
    provider.capture(CREDS, "inst2", {"name": "kept"})

    again = MockProvider("mock", {}, store)

    assert again.get_machine_image(CREDS, "kept")["name"] == "kept"


@pytest.mark.parametrize(
    ("status", "state"),
    [
        *MACHINE_STATE.items(),
        ("EXPLODED", "ERROR"),
    ],
)
def test_machine_state_table(provider, status, state):
    node = Node(
        "n",
        "n",
        NodeState.UNKNOWN,
        [],
        [],
        None,
        extra={"status": status, "cpu": 1, "ram": 1, "architecture": "x86_64"},
    )

    assert provider.to_machine(node)["state"] == state


def test_each_thread_gets_its_own_driver(provider):
    drivers = []

    def grab() -> None:
        drivers.append(provider.driver(CREDS))
        drivers.append(provider.driver(CREDS))

    threads = [threading.Thread(target=grab) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # The same driver twice within a thread; never one driver in two threads.
    assert len({id(d) for d in drivers}) == 3
