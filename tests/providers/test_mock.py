"""The embedded mock cloud: Deltacloud's fixtures, persisted, mapped to CIMI."""

from __future__ import annotations

import threading
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from libcloud.compute.base import Node
from libcloud.compute.types import NodeState

from gateway.cimi.errors import BadRequest
from gateway.cimi.errors import Conflict
from gateway.cimi.errors import NotFound
from gateway.cimi.errors import PreconditionFailed
from gateway.cimi.errors import Unauthorized
from gateway.store import Store
from providers.base import CAPTURE
from providers.base import DELETE
from providers.base import EDIT
from providers.base import RESTART
from providers.base import START
from providers.base import STOP
from providers.base import Credentials
from providers.base import MachineSpec
from providers.mock import MACHINE_STATE
from providers.mock import MockProvider
from providers.mock_driver import settle

CREDS = Credentials("mockuser", "mockpassword")
SMALL = MachineSpec("m1-small", "img1")
DELAY = 2


class Clock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = datetime(2013, 5, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def store(open_store) -> Store:
    """The mock cloud's state, on SQLite and on PostgreSQL (``store_url``)."""
    return open_store()


@pytest.fixture
def provider(store) -> MockProvider:
    return MockProvider("mock", {"delay": 0}, store)


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


# -- machine configurations ------------------------------------------------


def test_configurations_are_deltacloud_profiles_in_kib(provider):
    configs = {c["id"]: c for c in provider.list_machine_configurations(CREDS)}

    assert list(configs) == ["m1-small", "m1-large", "m1-xlarge"]
    assert provider.get_machine_configuration(CREDS, "m1-small") == {
        "id": "m1-small",
        "name": "m1-small",
        "description": "Machine Configuration with 1782579 KiB of memory and 1 CPU",
        "cpu": 1,
        "memory": 1782579,
        "disk": [{"capacity": 167772160, "format": "unknown"}],
        "cpuArch": "i386",
    }
    assert (configs["m1-xlarge"]["cpu"], configs["m1-xlarge"]["memory"]) == (
        4,
        12288 * 1024,
    )
    with pytest.raises(NotFound):
        provider.get_machine_configuration(CREDS, "opaque")


# -- machines, with no delay -----------------------------------------------


def test_create_keeps_what_was_asked(provider):
    spec = MachineSpec(
        "m1-small",
        "img3",
        name="web",
        description="a web server",
        properties={"role": "web"},
        key_name="test-key",
        user_data="ZWNobyBoaQ==",
    )

    machine = provider.create_machine(CREDS, spec)

    assert machine["id"] == "inst4"
    assert machine["state"] == "STARTED"
    assert (machine["name"], machine["description"]) == ("web", "a web server")
    assert machine["property"] == {"role": "web"}
    assert (machine["cpu"], machine["memory"], machine["cpuArch"]) == (
        1,
        1782579,
        "i386",
    )
    assert provider.get_machine(CREDS, "inst4") == machine
    (node,) = provider.driver(CREDS).list_nodes(ex_node_ids=["inst4"])
    assert (node.extra["key_name"], node.extra["user_data"]) == (
        "test-key",
        "ZWNobyBoaQ==",
    )
    assert (node.extra["size"], node.extra["image"]) == ("m1-small", "img3")


def test_create_stopped(provider):
    spec = MachineSpec("m1-large", "img1", initial_state="STOPPED")

    assert provider.create_machine(CREDS, spec)["state"] == "STOPPED"


def test_create_in_a_state_the_mock_lacks(provider):
    with pytest.raises(BadRequest):
        provider.create_machine(
            CREDS, MachineSpec("m1-small", "img1", initial_state="PAUSED")
        )


@pytest.mark.parametrize(
    "spec",
    [MachineSpec("m1-tiny", "img1"), MachineSpec("m1-small", "img9")],
    ids=["unknown-config", "unknown-image"],
)
def test_create_from_unknown_things(provider, spec):
    with pytest.raises(NotFound):
        provider.create_machine(CREDS, spec)


def test_stop_start_restart(provider):
    assert provider.act(CREDS, "inst1", STOP)["state"] == "STOPPED"
    assert provider.act(CREDS, "inst1", START)["state"] == "STARTED"
    assert provider.act(CREDS, "inst1", RESTART)["state"] == "STARTED"
    assert provider.get_machine(CREDS, "inst1")["state"] == "STARTED"


@pytest.mark.parametrize(
    ("first", "then"),
    [(None, START), (STOP, STOP)],
    ids=["start-started", "stop-stopped"],
)
def test_act_not_allowed(provider, first, then):
    if first:
        provider.act(CREDS, "inst2", first)

    with pytest.raises(Conflict):
        provider.act(CREDS, "inst2", then)


def test_restart_a_stopped_machine_starts_it(provider):
    provider.act(CREDS, "inst2", STOP)

    assert provider.act(CREDS, "inst2", RESTART)["state"] == "STARTED"


def test_delete_then_not_found(provider):
    provider.delete_machine(CREDS, "inst2")

    with pytest.raises(NotFound):
        provider.get_machine(CREDS, "inst2")
    assert "inst2" not in [m["id"] for m in provider.list_machines(CREDS)]
    with pytest.raises(NotFound):
        provider.delete_machine(CREDS, "inst2")
    with pytest.raises(NotFound):
        provider.act(CREDS, "inst2", STOP)


def test_a_deleted_machine_id_names_no_new_machine(provider):
    provider.delete_machine(CREDS, "inst3")

    assert provider.create_machine(CREDS, SMALL)["id"] == "inst4"
    with pytest.raises(NotFound):
        provider.get_machine(CREDS, "inst3")


def test_edit_name_description_properties(provider):
    provider.edit_machine(CREDS, "inst1", {"property": {"a": "1", "b": "2"}})

    machine = provider.edit_machine(
        CREDS, "inst1", {"name": "renamed", "description": "d", "property": {"c": "3"}}
    )

    assert (machine["name"], machine["description"]) == ("renamed", "d")
    assert machine["property"] == {"c": "3"}  # a full replacement
    assert provider.get_machine(CREDS, "inst1") == machine
    # What is not given is kept.
    machine = provider.edit_machine(CREDS, "inst1", {"description": "e"})
    assert (machine["name"], machine["property"]) == ("renamed", {"c": "3"})


def test_an_edit_checks_the_machine_it_writes_over(provider, store, monkeypatch):
    read = provider.get_machine(CREDS, "inst1")
    seen: list[str] = []

    def unchanged(machine: dict) -> None:
        seen.append(machine["description"])
        if machine != read:
            raise PreconditionFailed("changed since it was read")

    # Another worker's edit lands between this edit's read and its write:
    # the check sees it, as a check made before the call could not.
    replace = store.replace

    def competing_first(*args, **kwargs):
        monkeypatch.setattr(store, "replace", replace)
        provider.edit_machine(CREDS, "inst1", {"description": "theirs"})
        return replace(*args, **kwargs)

    monkeypatch.setattr(store, "replace", competing_first)
    with pytest.raises(PreconditionFailed):
        provider.edit_machine(CREDS, "inst1", {"description": "mine"}, check=unchanged)

    assert seen == [read["description"], "theirs"]
    assert provider.get_machine(CREDS, "inst1")["description"] == "theirs"


def test_edit_keeps_the_state(provider):
    provider.act(CREDS, "inst1", STOP)

    assert provider.edit_machine(CREDS, "inst1", {"name": "x"})["state"] == "STOPPED"


def test_operations_follow_the_state(provider):
    started = provider.get_machine(CREDS, "inst1")["operations"]
    stopped = provider.act(CREDS, "inst1", STOP)["operations"]

    assert set(started) == {EDIT, DELETE, STOP, RESTART, CAPTURE}
    assert set(stopped) == {EDIT, DELETE, START, CAPTURE}
    assert CAPTURE not in provider.get_machine(CREDS, "inst3")["operations"]
    assert CAPTURE not in provider.act(CREDS, "inst3", STOP)["operations"]


def test_capture_of_a_stopped_machine(provider):
    provider.act(CREDS, "inst1", STOP)

    image = provider.capture(CREDS, "inst1", {"name": "from-stopped"})

    assert image["state"] == "AVAILABLE"


# -- time, with a delay ----------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def slow(store, clock) -> MockProvider:
    """The mock cloud where every change takes ``DELAY`` seconds of ``clock``."""
    cloud = MockProvider("mock", {"delay": DELAY}, store)
    cloud.clock = clock
    return cloud


def state_of(cloud: MockProvider, machine_id: str) -> str:
    return cloud.get_machine(CREDS, machine_id)["state"]


def test_delay_defaults_to_a_real_clouds_pace(store):
    assert MockProvider.SETTINGS["delay"].default == 2
    machine = MockProvider("mock", {}, store).create_machine(CREDS, SMALL)

    assert machine["state"] == "CREATING"


def test_create_takes_the_delay(slow, clock):
    machine = slow.create_machine(CREDS, SMALL)

    assert machine["state"] == "CREATING"
    assert machine["operations"] == (EDIT, DELETE)
    clock.advance(DELAY - 0.5)
    assert state_of(slow, machine["id"]) == "CREATING"
    with pytest.raises(Conflict):
        slow.act(CREDS, machine["id"], STOP)
    with pytest.raises(Conflict):
        slow.capture(CREDS, machine["id"], {"name": "too-soon"})
    clock.advance(0.5)
    assert state_of(slow, machine["id"]) == "STARTED"
    listed = {m["id"]: m["state"] for m in slow.list_machines(CREDS)}
    assert listed[machine["id"]] == "STARTED"


def test_create_stopped_takes_the_delay(slow, clock):
    spec = MachineSpec("m1-small", "img1", initial_state="STOPPED")
    machine = slow.create_machine(CREDS, spec)

    clock.advance(DELAY)

    assert (machine["state"], state_of(slow, machine["id"])) == ("CREATING", "STOPPED")


@pytest.mark.parametrize(
    ("start_stopped", "action", "passing", "settled"),
    [
        (False, STOP, "STOPPING", "STOPPED"),
        (True, START, "STARTING", "STARTED"),
        (False, RESTART, "STARTING", "STARTED"),
        (True, RESTART, "STARTING", "STARTED"),
    ],
    ids=["stop", "start", "restart", "restart-stopped"],
)
def test_actions_pass_through_a_state(
    slow, clock, start_stopped, action, passing, settled
):
    if start_stopped:
        slow.act(CREDS, "inst1", STOP)
        clock.advance(DELAY)

    machine = slow.act(CREDS, "inst1", action)

    assert machine["state"] == passing
    assert set(machine["operations"]) == {EDIT, DELETE}
    with pytest.raises(Conflict):
        slow.act(CREDS, "inst1", action)
    clock.advance(DELAY)
    assert state_of(slow, "inst1") == settled


def test_delete_takes_the_delay_and_cannot_be_asked_twice(slow, clock):
    slow.delete_machine(CREDS, "inst2")

    assert state_of(slow, "inst2") == "DELETING"
    assert "inst2" in [m["id"] for m in slow.list_machines(CREDS)]
    assert slow.get_machine(CREDS, "inst2")["operations"] == ()
    clock.advance(DELAY - 1)
    with pytest.raises(Conflict):
        slow.delete_machine(CREDS, "inst2")
    clock.advance(1)
    with pytest.raises(NotFound):
        slow.get_machine(CREDS, "inst2")
    assert "inst2" not in [m["id"] for m in slow.list_machines(CREDS)]


def test_capture_leaves_the_image_creating_for_the_delay(slow, clock):
    image = slow.capture(CREDS, "inst1", {"name": "snap"})

    assert image["state"] == "CREATING"
    assert slow.get_machine_image(CREDS, "snap")["state"] == "CREATING"
    clock.advance(DELAY)
    assert slow.get_machine_image(CREDS, "snap")["state"] == "AVAILABLE"
    states = {i["id"]: i["state"] for i in slow.list_machine_images(CREDS)}
    assert states["snap"] == "AVAILABLE"


def test_time_goes_on_for_a_new_provider_on_the_same_store(slow, store, clock):
    slow.act(CREDS, "inst1", STOP)
    again = MockProvider("mock", {"delay": DELAY}, store)
    again.clock = clock

    assert state_of(again, "inst1") == "STOPPING"
    clock.advance(DELAY)
    assert state_of(again, "inst1") == "STOPPED"


def test_reads_never_write(slow, store, clock):
    machine = slow.create_machine(CREDS, SMALL)
    namespace = slow.namespace(CREDS)
    stored = store.get(namespace, "machine", machine["id"])

    clock.advance(DELAY)
    slow.list_machines(CREDS)
    slow.get_machine(CREDS, machine["id"])

    assert store.get(namespace, "machine", machine["id"]) == stored


@pytest.mark.parametrize(
    ("record", "seconds", "expected"),
    [
        ({"status": "RUNNING"}, 0, {"status": "RUNNING"}),
        ({"status": "RUNNING", "transition": None}, 0, "same"),
        (
            {"status": "STOPPING", "transition": {"next": "STOPPED", "at": "T+2"}},
            1,
            "same",
        ),
        (
            {"status": "STOPPING", "transition": {"next": "STOPPED", "at": "T+2"}},
            2,
            {"status": "STOPPED", "transition": None},
        ),
        (
            {"status": "SHUTTING_DOWN", "transition": {"next": None, "at": "T+2"}},
            3,
            None,
        ),
    ],
    ids=["no-transition", "settled", "not-yet", "due", "gone"],
)
def test_settle(record, seconds, expected):
    start = Clock().now
    transition = record.get("transition")
    if transition:
        at = (start + timedelta(seconds=2)).isoformat()
        record = {**record, "transition": {**transition, "at": at}}

    settled = settle(record, start + timedelta(seconds=seconds))

    assert settled == (record if expected == "same" else expected)


# -- several workers at once -----------------------------------------------


def test_concurrent_creates_get_distinct_ids(open_store):
    MockProvider("mock", {"delay": 0}, open_store()).check_credentials(CREDS)
    # One provider over its own Store per "worker", as gunicorn workers have.
    workers = [MockProvider("mock", {"delay": 0}, open_store()) for _ in range(4)]
    made: list[str] = []
    failures: list[BaseException] = []
    barrier = threading.Barrier(len(workers))

    def create(worker: MockProvider) -> None:
        barrier.wait()
        try:
            for _ in range(5):
                made.append(worker.create_machine(CREDS, SMALL)["id"])
        except BaseException as ex:  # reported by the test, not lost in a thread
            failures.append(ex)

    threads = [threading.Thread(target=create, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert len(made) == len(set(made)) == 20
    assert set(made) == {f"inst{n}" for n in range(4, 24)}
    listed = [m["id"] for m in workers[0].list_machines(CREDS)]
    assert sorted(listed[4:]) == sorted(made)


def test_concurrent_edits_of_one_machine_never_undo_each_other(open_store):
    workers = [MockProvider("mock", {"delay": 0}, open_store()) for _ in range(2)]
    workers[0].list_machines(CREDS)  # seeds once

    def edit(provider: MockProvider, field: str) -> None:
        for i in range(15):
            provider.edit_machine(CREDS, "inst1", {field: f"{field}-{i}"})

    threads = [
        threading.Thread(target=edit, args=(workers[0], "name")),
        threading.Thread(target=edit, args=(workers[1], "description")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    machine = workers[0].get_machine(CREDS, "inst1")
    assert (machine["name"], machine["description"]) == ("name-14", "description-14")
