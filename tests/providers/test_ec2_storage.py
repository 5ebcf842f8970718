"""EC2's volumes, snapshots and key pairs through libcloud to moto: what the
gateway does that libcloud alone gets wrong there."""

from __future__ import annotations

import pytest

from gateway.cimi.errors import BadRequest
from gateway.cimi.errors import Conflict
from gateway.cimi.errors import NotFound
from providers.base import VolumeSpec
from tests.providers.test_ec2 import CREDS
from tests.providers.test_ec2 import make_provider
from tests.support.moto import driver_for
from tests.support.moto import run_instance


@pytest.fixture
def provider(moto_reset):
    return make_provider(moto_reset)


def test_only_the_account_s_own_snapshots_are_listed(provider, moto_reset):
    driver = driver_for(moto_reset)
    # The fixture AMIs' snapshots belong to their owners' accounts.
    everyone = driver.list_snapshots()
    assert everyone, "moto keeps a snapshot per fixture AMI"
    volume = provider.create_volume(CREDS, VolumeSpec("gp3", 1, name="v"))

    image = provider.create_volume_image(CREDS, volume["id"], {"name": "mine"})

    assert [i["id"] for i in provider.list_volume_images(CREDS)] == [image["id"]]
    foreign = next(s for s in everyone if s.id != image["id"])
    with pytest.raises(NotFound):
        provider.get_volume_image(CREDS, foreign.id)


def test_a_volume_is_tagged_when_it_is_made(provider, moto_reset):
    volume = provider.create_volume(
        CREDS,
        VolumeSpec("gp2", 2, name="data", description="d", properties={"tier": "db"}),
    )

    described = driver_for(moto_reset).list_volumes(
        ex_filters={"volume-id": volume["id"]}
    )[0]
    assert described.extra["tags"] == {"Name": "data", "Description": "d", "tier": "db"}
    assert (volume["name"], volume["property"]) == ("data", {"tier": "db"})


@pytest.mark.parametrize(
    ("volume_type", "gib", "iops"),
    [("io1", 4, 200), ("io1", 100, 3000), ("io2", 4, 2000), ("io2", 10, 3000)],
)
def test_a_provisioned_iops_volume_is_asked_with_iops(
    provider, moto_reset, volume_type, gib, iops
):
    # AWS refuses io1/io2 without Iops (InvalidParameterDependency); CIMI has
    # no attribute for it, so the gateway asks what its size allows up to 3000.
    volume = provider.create_volume(CREDS, VolumeSpec(volume_type, gib))

    described = driver_for(moto_reset).list_volumes(
        ex_filters={"volume-id": volume["id"]}
    )[0]
    assert (described.extra["volume_type"], described.extra["iops"]) == (
        volume_type,
        iops,
    )


def test_a_volume_smaller_than_its_type_allows_is_refused(provider):
    before = provider.list_volumes(CREDS)

    with pytest.raises(BadRequest, match="at least 125 GiB"):
        provider.create_volume(CREDS, VolumeSpec("st1", 1))
    with pytest.raises(BadRequest, match="property"):
        provider.create_volume(CREDS, VolumeSpec("gp3", 1, properties={"aws:x": "y"}))

    assert provider.list_volumes(CREDS) == before


def test_unknown_ids_are_404_without_asking(provider):
    for read in (provider.get_volume, provider.get_volume_image):
        with pytest.raises(NotFound):
            read(CREDS, "not-an-ec2-id")
    with pytest.raises(NotFound):
        provider.get_volume(CREDS, "vol-0123456789abcdef0")
    with pytest.raises(NotFound):
        provider.get_credential(CREDS, "nobody")


def test_a_key_pair_name_is_taken_once(provider):
    provider.generate_credential(CREDS, "once")

    with pytest.raises(Conflict):
        provider.generate_credential(CREDS, "once")
    provider.delete_credential(CREDS, "once")
    with pytest.raises(NotFound):
        provider.delete_credential(CREDS, "once")


def test_a_generated_private_key_is_not_kept_by_the_driver(provider):
    credential, private_key = provider.generate_credential(CREDS, "kept-nowhere")

    assert "PRIVATE KEY" in private_key
    assert credential["key"].startswith("ssh-")  # read back, with its public key
    # The thread's cached driver holds its connection's last answer.
    kept = provider.driver(CREDS).connection.connection.response
    assert private_key.splitlines()[1] not in (kept.text if kept else "")
    provider.delete_credential(CREDS, "kept-nowhere")


def test_volumes_attached_without_a_device_get_free_ones(provider, moto_reset):
    machine = run_instance(moto_reset)
    one = provider.create_volume(CREDS, VolumeSpec("gp3", 1))
    two = provider.create_volume(CREDS, VolumeSpec("gp3", 1))

    first = provider.attach_volume(CREDS, machine, one["id"], "")
    second = provider.attach_volume(CREDS, machine, two["id"], "")

    # AWS refuses a second volume at a device in use; the root is /dev/sda1.
    devices = {a["initialLocation"] for a in (first, second)}
    assert devices == {"/dev/sdf", "/dev/sdg"}


def test_an_unknown_subnet_is_404(provider):
    with pytest.raises(NotFound):
        provider.get_network(CREDS, "subnet-0123456789abcdef0")
