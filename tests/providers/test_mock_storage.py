"""The mock cloud's volumes, snapshots, key pairs and addresses: as a real
cloud's, they take time, refuse what cannot be, and keep no private key."""

from __future__ import annotations

import pytest

from gateway.cimi.errors import Conflict
from gateway.cimi.errors import NotFound
from gateway.store import Store
from providers.base import VolumeSpec
from providers.mock import MockProvider
from providers.mock_driver import KEY
from tests.providers.test_mock import CREDS
from tests.providers.test_mock import DELAY
from tests.providers.test_mock import Clock


@pytest.fixture
def store(open_store) -> Store:
    """The mock cloud's state, on SQLite and on PostgreSQL (``store_url``)."""
    return open_store()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def slow(store, clock) -> MockProvider:
    cloud = MockProvider("mock", {"delay": DELAY}, store)
    cloud.clock = clock
    return cloud


def test_starts_with_deltacloud_s_volumes(slow):
    volumes = {v["id"]: v for v in slow.list_volumes(CREDS)}

    assert set(volumes) == {"vol1", "vol2", "vol3"}
    assert "delete" not in volumes["vol3"]["operations"]  # attached to inst1
    attached = slow.list_machine_volumes(CREDS, "inst1")
    assert [(a["id"], a["initialLocation"], a["state"]) for a in attached] == [
        ("vol3", "/dev/sda1", "ATTACHED")
    ]
    images = slow.list_volume_images(CREDS)
    assert [(i["id"], i["imageLocation"]) for i in images] == [
        ("snap1", "vol1"),
        ("snap2", "vol2"),
        ("snap3", "vol2"),
    ]


def test_a_volume_and_its_attachment_take_the_delay(slow, clock):
    volume = slow.create_volume(CREDS, VolumeSpec("ssd", 3, name="data"))
    assert (volume["state"], volume["capacity"]) == ("CREATING", 3 * 1024 * 1024)
    with pytest.raises(Conflict):
        slow.attach_volume(CREDS, "inst2", volume["id"], "/dev/sdg")

    clock.advance(DELAY)
    assert slow.get_volume(CREDS, volume["id"])["state"] == "AVAILABLE"
    attached = slow.attach_volume(CREDS, "inst2", volume["id"], "/dev/sdg")
    assert attached["state"] == "ATTACHING"
    assert slow.get_machine_volume(CREDS, "inst2", volume["id"])["state"] == (
        "ATTACHING"
    )
    clock.advance(DELAY)
    assert slow.get_machine_volume(CREDS, "inst2", volume["id"])["state"] == "ATTACHED"
    with pytest.raises(Conflict, match="detach it first"):
        slow.delete_volume(CREDS, volume["id"])
    with pytest.raises(Conflict, match="in use"):
        slow.attach_volume(CREDS, "inst1", volume["id"], "")

    slow.detach_volume(CREDS, "inst2", volume["id"])
    assert slow.get_machine_volume(CREDS, "inst2", volume["id"])["state"] == (
        "DETACHING"
    )
    clock.advance(DELAY)
    with pytest.raises(NotFound):
        slow.get_machine_volume(CREDS, "inst2", volume["id"])
    slow.delete_volume(CREDS, volume["id"])
    assert slow.get_volume(CREDS, volume["id"])["state"] == "DELETING"
    clock.advance(DELAY)
    with pytest.raises(NotFound):
        slow.get_volume(CREDS, volume["id"])


def test_a_deleted_machine_leaves_its_volumes_free(slow, clock):
    slow.delete_machine(CREDS, "inst1")

    assert slow.list_machine_volumes(CREDS, "inst1") == []
    assert "delete" in slow.get_volume(CREDS, "vol3")["operations"]


def test_a_snapshot_restores_into_a_new_volume(slow, clock):
    image = slow.create_volume_image(CREDS, "vol1", {"name": "backup"})
    assert image["state"] == "CREATING"
    clock.advance(DELAY)
    assert slow.get_volume_image(CREDS, image["id"])["state"] == "AVAILABLE"

    restored = slow.create_volume(
        CREDS, VolumeSpec("standard", 1, image_id=image["id"])
    )
    clock.advance(DELAY)

    assert slow.get_volume(CREDS, restored["id"])["state"] == "AVAILABLE"
    with pytest.raises(NotFound):
        slow.create_volume(CREDS, VolumeSpec("standard", 1, image_id="snap-none"))


def test_a_generated_key_pair_keeps_no_private_key(slow, store):
    credential, private_key = slow.generate_credential(CREDS, "fresh")

    assert "PRIVATE KEY" in private_key
    assert credential["key"].startswith("ssh-ed25519 ")
    stored = store.get(slow.namespace(CREDS), KEY, "fresh")
    assert private_key not in str(stored)
    assert "private" not in str(stored).lower()
    with pytest.raises(Conflict):
        slow.generate_credential(CREDS, "fresh")
    slow.delete_credential(CREDS, "fresh")
    with pytest.raises(NotFound):
        slow.get_credential(CREDS, "fresh")


def test_addresses_are_released_only_once_off_their_machine(slow):
    address = slow.allocate_address(CREDS, {})
    slow.associate_address(CREDS, address["id"], "inst1")

    with pytest.raises(Conflict):
        slow.release_address(CREDS, address["id"])
    with pytest.raises(Conflict):
        slow.associate_address(CREDS, address["id"], "inst2")
    slow.disassociate_address(CREDS, address["id"])
    slow.release_address(CREDS, address["id"])
    with pytest.raises(NotFound):
        slow.get_address(CREDS, address["id"])


def test_an_attach_under_way_goes_with_its_deleted_machine(slow, clock):
    slow.attach_volume(CREDS, "inst2", "vol1", "/dev/sdg")
    slow.delete_machine(CREDS, "inst2")

    # Were the attach still pending, it would land on a machine that is gone.
    clock.advance(DELAY)
    assert "delete" in slow.get_volume(CREDS, "vol1")["operations"]
    slow.delete_volume(CREDS, "vol1")
    clock.advance(DELAY)
    with pytest.raises(NotFound):
        slow.get_volume(CREDS, "vol1")


def land_before_next_write(store, monkeypatch, competing) -> None:
    """Run ``competing`` once, just before the store's next write.

    It then falls between a writer's read and its compare-and-swap: the
    window two workers race in, made deterministic.
    """
    replace = store.replace

    def replace_after_competing(*args, **kwargs):
        monkeypatch.setattr(store, "replace", replace)
        competing()
        return replace(*args, **kwargs)

    monkeypatch.setattr(store, "replace", replace_after_competing)


def test_of_two_attaches_of_one_volume_one_wins(slow, store, clock, monkeypatch):
    land_before_next_write(
        store, monkeypatch, lambda: slow.attach_volume(CREDS, "inst3", "vol1", "")
    )

    with pytest.raises(Conflict, match="in use"):
        slow.attach_volume(CREDS, "inst2", "vol1", "/dev/sdg")
    clock.advance(DELAY)
    assert [v["id"] for v in slow.list_machine_volumes(CREDS, "inst3")] == ["vol1"]
    assert slow.list_machine_volumes(CREDS, "inst2") == []


def test_a_volume_attached_meanwhile_is_not_deleted(slow, store, clock, monkeypatch):
    land_before_next_write(
        store, monkeypatch, lambda: slow.attach_volume(CREDS, "inst3", "vol1", "")
    )

    with pytest.raises(Conflict, match="attached"):
        slow.delete_volume(CREDS, "vol1")
    clock.advance(DELAY)
    assert slow.get_volume(CREDS, "vol1")["state"] == "AVAILABLE"
    assert [v["id"] for v in slow.list_machine_volumes(CREDS, "inst3")] == ["vol1"]
