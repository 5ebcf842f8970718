"""GatewayEC2NodeDriver's block storage, key pairs and Elastic IPs, against moto.

What the gateway's Volumes, VolumeImages, MachineVolumes, Credentials and
Addresses need of the driver, where libcloud's own EC2 calls go wrong on moto
(or would, on AWS).
"""

from __future__ import annotations

import copy
import subprocess

import pytest
from libcloud.common.exceptions import BaseHTTPError
from libcloud.compute.base import StorageVolume
from libcloud.compute.drivers.ec2 import NAMESPACE
from libcloud.compute.types import KeyPairDoesNotExistError
from libcloud.compute.types import StorageVolumeState

from providers.ec2_driver import GatewayEC2NodeDriver
from tests.support.moto import FIXTURE_OWNER
from tests.support.moto import MOTO_ACCOUNT
from tests.support.moto import describe
from tests.support.moto import driver_for
from tests.support.moto import run_instance

ZONE = "us-east-1a"


@pytest.fixture
def driver(moto_reset: str) -> GatewayEC2NodeDriver:
    return driver_for(moto_reset)


def described(driver: GatewayEC2NodeDriver, volume_id: str) -> StorageVolume:
    [volume] = driver.list_volumes(ex_filters={"volume-id": volume_id})
    return volume


def ns(tag: str) -> str:
    return f"{{{NAMESPACE}}}{tag}"


# -- zones and volumes ----------------------------------------------------------


def test_zone_names_are_the_region_s_sorted(driver):
    names = driver.ex_list_zone_names()

    assert names == sorted(
        loc.availability_zone.name for loc in driver.list_locations()
    )
    assert names[0] == ZONE


def test_a_volume_is_tagged_at_creation_and_returned_as_described(driver):
    volume = driver.create_volume(
        2, "data", ZONE, ex_volume_type="gp3", ex_tags={"tier": "db"}
    )

    again = described(driver, volume.id)
    assert again.extra["tags"] == {"Name": "data", "tier": "db"}
    assert (volume.id, volume.name, volume.size) == (again.id, "data", 2)
    assert volume.extra == again.extra
    assert volume.extra["zone"] == ZONE
    assert volume.extra["volume_type"] == "gp3"
    assert volume.state == StorageVolumeState.AVAILABLE


def test_no_location_means_the_region_s_first_zone(driver):
    volume = driver.create_volume(1, None, None, ex_volume_type="gp3")

    assert volume.extra["zone"] == ZONE
    assert volume.extra["tags"] == {}


def test_volumes_are_listed_by_filter_and_by_node(driver, moto_reset):
    mine = driver.create_volume(1, "mine", ZONE, ex_volume_type="gp3")
    driver.create_volume(1, "other", ZONE, ex_volume_type="gp3")
    node = describe(moto_reset, run_instance(moto_reset))

    assert [v.id for v in driver.list_volumes(ex_filters={"tag:Name": "mine"})] == [
        mine.id
    ]
    [root] = driver.list_volumes(node=node)
    assert root.extra["instance_id"] == node.id
    assert len(driver.list_volumes()) == 3
    assert driver.list_volumes(ex_filters={"volume-id": "vol-0123456789abcdef0"}) == []


def test_a_volume_listing_follows_next_token(driver, monkeypatch):
    made = {
        driver.create_volume(1, f"v{n}", ZONE, ex_volume_type="gp3").id
        for n in range(3)
    }
    sent = split_into_two_pages(driver, monkeypatch, "volumeSet")

    listed = driver.list_volumes(ex_filters={"tag-key": "Name"})

    assert sorted(v.id for v in listed) == sorted(made)
    assert [p.get("NextToken") for p in sent] == [None, "page-2"]
    assert all(p["Filter.1.Name"] == "tag-key" for p in sent)


def test_destroying_a_volume_says_true(driver):
    volume = driver.create_volume(1, "gone", ZONE, ex_volume_type="gp3")

    assert driver.destroy_volume(volume) is True
    assert driver.list_volumes(ex_filters={"volume-id": volume.id}) == []


# -- attach and detach ----------------------------------------------------------


def test_attach_detach_cycle(driver, moto_reset):
    node = describe(moto_reset, run_instance(moto_reset))
    volume = driver.create_volume(
        1, "disk", node.extra["availability"], ex_volume_type="gp3"
    )
    assert volume.extra["zone"] == ZONE  # moto puts an unplaced instance there

    assert driver.attach_volume(node, volume, "/dev/sdf") is True
    attached = described(driver, volume.id)
    assert attached.state == StorageVolumeState.INUSE
    assert attached.extra["state"] == "in-use"
    assert attached.extra["attachment_status"] == "attached"
    assert (attached.extra["instance_id"], attached.extra["device"]) == (
        node.id,
        "/dev/sdf",
    )
    with pytest.raises(BaseHTTPError, match="^VolumeInUse: "):
        driver.destroy_volume(volume)

    # A bare volume, as by id: the driver finds the instance itself.
    assert driver.detach_volume(StorageVolume(volume.id, None, 1, driver)) is True
    detached = described(driver, volume.id)
    assert detached.state == StorageVolumeState.AVAILABLE
    assert detached.extra["instance_id"] is None

    assert driver.attach_volume(node, volume, "/dev/sdg") is True
    assert driver.detach_volume(volume, ex_node=node.id) is True
    assert described(driver, volume.id).extra["state"] == "available"


def test_detaching_an_unattached_volume_is_incorrect_state_not_a_500(driver):
    volume = driver.create_volume(1, "loose", ZONE, ex_volume_type="gp3")

    with pytest.raises(BaseHTTPError, match="^IncorrectState: ") as caught:
        driver.detach_volume(volume)
    assert caught.value.code == 400
    with pytest.raises(BaseHTTPError, match="^InvalidVolume.NotFound: "):
        driver.detach_volume(StorageVolume("vol-0123456789abcdef0", None, 1, driver))


# -- snapshots ------------------------------------------------------------------


def test_only_the_account_s_own_snapshots_are_listed(driver):
    everyone = driver.list_snapshots(owner="self")  # moto ignores Owner
    foreign = [
        s for s in everyone if "Auto-created snapshot for AMI" in s.extra["description"]
    ]
    assert len(foreign) == 3, "moto keeps a snapshot per fixture AMI"
    assert driver.ex_list_own_snapshots() == []

    volume = driver.create_volume(1, "v", ZONE, ex_volume_type="gp3")
    mine = driver.create_volume_snapshot(volume, "mine")

    assert [s.id for s in driver.ex_list_own_snapshots()] == [mine.id]
    assert driver.ex_list_own_snapshots(snapshot_ids=[foreign[0].id]) == []
    assert [s.id for s in driver.ex_list_own_snapshots(snapshot_ids=[mine.id])] == [
        mine.id
    ]
    assert [s.id for s in driver.list_volume_snapshots(volume)] == [mine.id]
    assert driver.ex_account_id() == MOTO_ACCOUNT != FIXTURE_OWNER


def test_a_missing_snapshot_id_is_invalid_snapshot_not_found(driver):
    with pytest.raises(BaseHTTPError, match="^InvalidSnapshot.NotFound:"):
        driver.ex_list_own_snapshots(snapshot_ids=["snap-0123456789abcdef0"])


def test_own_snapshots_take_filters(driver):
    one = driver.create_volume(1, "one", ZONE, ex_volume_type="gp3")
    two = driver.create_volume(1, "two", ZONE, ex_volume_type="gp3")
    first = driver.create_volume_snapshot(one, "s1")
    driver.create_volume_snapshot(two, "s2")

    by_volume = driver.ex_list_own_snapshots(filters={"volume-id": one.id})

    assert [s.id for s in by_volume] == [first.id]


def test_a_snapshot_listing_follows_next_token_and_stays_own(driver, monkeypatch):
    volume = driver.create_volume(1, "v", ZONE, ex_volume_type="gp3")
    made = {driver.create_volume_snapshot(volume, f"s{n}").id for n in range(3)}
    sent = split_into_two_pages(driver, monkeypatch, "snapshotSet")

    listed = driver.ex_list_own_snapshots()

    assert sorted(s.id for s in listed) == sorted(made)
    assert [p.get("NextToken") for p in sent] == [None, "page-2"]
    for page in sent:
        assert page["Owner.1"] == "self"
        assert (page["Filter.1.Name"], page["Filter.1.Value.1"]) == (
            "owner-id",
            MOTO_ACCOUNT,
        )


def test_a_snapshot_is_tagged_at_creation_and_returned_as_described(driver):
    volume = driver.create_volume(3, "v", ZONE, ex_volume_type="gp3")

    snapshot = driver.create_volume_snapshot(
        volume, "nightly", ex_metadata={"k": "v"}, ex_description="before upgrade"
    )

    [again] = driver.ex_list_own_snapshots(snapshot_ids=[snapshot.id])
    assert again.extra["tags"] == {"Name": "nightly", "k": "v"}
    assert snapshot.extra == again.extra
    assert (snapshot.name, snapshot.size) == ("nightly", 3)
    assert snapshot.extra["description"] == "before upgrade"
    assert snapshot.extra["volume_id"] == volume.id
    assert snapshot.extra["state"] == "completed"


def test_a_volume_restored_from_a_snapshot(driver):
    volume = driver.create_volume(4, "src", ZONE, ex_volume_type="gp3")
    snapshot = driver.create_volume_snapshot(volume, "snap")

    restored = driver.create_volume(
        8, "copy", "us-east-1b", snapshot=snapshot, ex_volume_type="gp2"
    )
    by_id = driver.create_volume(4, "copy2", ZONE, snapshot=snapshot.id)

    assert restored.extra["snapshot_id"] == by_id.extra["snapshot_id"] == snapshot.id
    assert (restored.size, restored.extra["zone"]) == (8, "us-east-1b")
    assert restored.extra["tags"] == {"Name": "copy"}
    assert restored.state == StorageVolumeState.AVAILABLE
    assert driver.destroy_volume_snapshot(snapshot) is True
    assert driver.ex_list_own_snapshots() == []


# -- key pairs ------------------------------------------------------------------


@pytest.fixture(scope="module")
def public_key(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("key") / "id"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True
    )
    return path.with_suffix(".pub").read_text().strip()


def test_key_pairs_import_create_get_delete(driver, public_key):
    imported = driver.import_key_pair_from_string("imported", public_key)
    created = driver.create_key_pair("created")
    assert created.private_key.startswith("-----BEGIN")

    got = driver.get_key_pair("imported")
    assert (got.name, got.fingerprint) == ("imported", imported.fingerprint)
    assert got.public_key.split()[:2] == public_key.split()[:2]
    assert driver.get_key_pair("created").fingerprint == created.fingerprint
    assert sorted(p.name for p in driver.list_key_pairs()) == ["created", "imported"]

    assert driver.delete_key_pair(got) is True
    with pytest.raises(KeyPairDoesNotExistError) as caught:
        driver.get_key_pair("imported")
    assert caught.value.name == "imported"
    assert [p.name for p in driver.list_key_pairs()] == ["created"]


def test_a_missing_key_pair_is_key_pair_does_not_exist(driver):
    driver.create_key_pair("someone")  # libcloud's get_key_pair returned this one

    with pytest.raises(KeyPairDoesNotExistError):
        driver.get_key_pair("nobody")


def test_a_key_name_is_taken_once(driver, public_key):
    driver.create_key_pair("once")

    with pytest.raises(BaseHTTPError, match="^InvalidKeyPair.Duplicate: "):
        driver.create_key_pair("once")
    with pytest.raises(BaseHTTPError, match="^InvalidKeyPair.Duplicate: "):
        driver.import_key_pair_from_string("once", public_key)


# -- Elastic IPs ----------------------------------------------------------------


def test_elastic_ip_allocate_associate_disassociate_release(driver, moto_reset):
    node = describe(moto_reset, run_instance(moto_reset))

    address = driver.ex_allocate_address()
    assert address.domain == "vpc"
    assert address.extra["allocation_id"].startswith("eipalloc-")
    [listed] = driver.ex_describe_all_addresses()
    assert (listed.ip, listed.instance_id) == (address.ip, None)

    association = driver.ex_associate_address_with_node(node, address)
    assert association.startswith("eipassoc-")
    [listed] = driver.ex_describe_all_addresses()
    assert listed.instance_id == node.id
    assert listed.extra["association_id"] == association
    assert [a.ip for a in driver.ex_describe_all_addresses(only_associated=True)] == [
        address.ip
    ]

    # The address as allocated carries no association id: it is looked up.
    assert driver.ex_disassociate_address(address) is True
    [listed] = driver.ex_describe_all_addresses()
    assert listed.instance_id is None
    assert driver.ex_disassociate_address(address) is True  # nothing to undo

    assert driver.ex_release_address(address) is True
    assert driver.ex_describe_all_addresses() == []
    with pytest.raises(BaseHTTPError, match="^InvalidAllocationID.NotFound: "):
        driver.ex_release_address(address)


def test_a_missing_allocation_cannot_be_associated(driver, moto_reset):
    node = describe(moto_reset, run_instance(moto_reset))
    address = driver.ex_allocate_address()
    driver.ex_release_address(address)

    with pytest.raises(BaseHTTPError, match="^InvalidAllocationID.NotFound: "):
        driver.ex_associate_address_with_node(node, address)


# -- helpers ---------------------------------------------------------------------


def split_into_two_pages(driver, monkeypatch, set_name: str) -> list[dict]:
    """Make the driver's Describe answers come in two pages, as AWS's do.

    moto answers DescribeVolumes and DescribeSnapshots in one page: the first
    answer here keeps its first item and says ``nextToken``; the answer to
    ``NextToken=page-2`` keeps the others. Returns the parameters sent.
    """
    sent: list[dict] = []
    request = driver.connection.request

    def paged(action, params=None, **kwargs):
        response = request(action, params=params, **kwargs)
        sent.append(dict(params))
        root = response.object
        items = root.find(ns(set_name))
        children = list(items)
        keep = children[1:] if params.get("NextToken") else children[:1]
        for child in children:
            if child not in keep:
                items.remove(child)
        if not params.get("NextToken"):
            token = copy.copy(root.makeelement(ns("nextToken"), {}))
            token.text = "page-2"
            root.append(token)
        return response

    monkeypatch.setattr(driver.connection, "request", paged)
    return sent
