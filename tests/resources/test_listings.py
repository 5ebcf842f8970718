"""Listings: the cloud asked for no more than needed, and not again per page."""

from __future__ import annotations

import base64

import pytest

from gateway.listings import Listings
from providers.base import Credentials
from providers.ec2 import EC2Provider
from providers.ec2_driver import GatewayEC2NodeDriver
from tests.resources.conftest import AUTH
from tests.resources.conftest import app_with
from tests.support.moto import KEY
from tests.support.moto import SECRET
from tests.support.moto import run_instance

EC2_AUTH = {
    "Authorization": "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode(),
    "Accept": "application/json",
}


@pytest.fixture
def asked(monkeypatch) -> list[dict]:
    """Record the parameters of every EC2 list call (each page's first)."""
    calls: list[dict] = []
    real = GatewayEC2NodeDriver.pages

    def recording(self, params):
        calls.append(dict(params))
        return real(self, params)

    monkeypatch.setattr(GatewayEC2NodeDriver, "pages", recording)
    return calls


@pytest.fixture
def ec2_client(moto_reset, tmp_path):
    provider = EC2Provider(
        "mock", {"region": "us-east-1", "endpoint": moto_reset}, store=None
    )
    return app_with({"mock": provider}, tmp_path)


def describe_instances(calls: list[dict]) -> list[dict]:
    return [c for c in calls if c["Action"] == "DescribeInstances"]


def test_a_filter_ec2_can_apply_is_pushed_down_and_still_applied_whole(
    moto_reset, ec2_client, asked
):
    running = run_instance(moto_reset, name="kept")
    run_instance(moto_reset, name="other")

    body = ec2_client.simulate_get(
        "/cimi/machines",
        query_string="$filter=state='STARTED' and name='kept'",
        headers=EC2_AUTH,
    ).json

    pushed = describe_instances(asked)[-1]
    assert pushed["Filter.1.Name"] == "instance-state-name"
    assert pushed["Filter.1.Value.1"] == "running"
    assert "Filter.2.Name" not in pushed  # a name is left to the gateway
    assert [m["id"].rsplit("/", 1)[1] for m in body["machines"]] == [running]
    assert body["count"] == 1


def test_an_id_filter_becomes_an_instance_id_filter(moto_reset, ec2_client, asked):
    wanted = run_instance(moto_reset)
    run_instance(moto_reset)
    href = f"http://falconframework.org/cimi/machines/{wanted}"

    body = ec2_client.simulate_get(
        "/cimi/machines", query_string=f"$filter=id='{href}'", headers=EC2_AUTH
    ).json

    pushed = describe_instances(asked)[-1]
    assert (pushed["Filter.1.Name"], pushed["Filter.1.Value.1"]) == (
        "instance-id",
        wanted,
    )
    assert [m["id"] for m in body["machines"]] == [href]


def test_a_filter_that_cannot_match_asks_ec2_nothing(ec2_client, asked):
    body = ec2_client.simulate_get(
        "/cimi/machines",
        query_string="$filter=state='STARTED' and state='STOPPED'",
        headers=EC2_AUTH,
    ).json
    assert body["count"] == 0
    assert describe_instances(asked) == []


def test_pages_of_one_listing_ask_the_cloud_once(moto_reset, ec2_client, asked):
    for n in range(3):
        run_instance(moto_reset, name=f"m{n}")

    pages = [
        ec2_client.simulate_get(
            "/cimi/machines", query_string=f"$first={n}&$last={n}", headers=EC2_AUTH
        ).json
        for n in (1, 2, 3)
    ]

    assert len(describe_instances(asked)) == 1
    assert [p["count"] for p in pages] == [3, 3, 3]
    assert len({p["machines"][0]["id"] for p in pages}) == 3


def test_the_gateways_own_write_is_seen_at_once(moto_reset, ec2_client, asked):
    machine = run_instance(moto_reset)
    ec2_client.simulate_get("/cimi/machines", headers=EC2_AUTH)

    edit = ec2_client.simulate_put(
        f"/cimi/machines/{machine}",
        headers={**EC2_AUTH, "Content-Type": "application/json"},
        json={"name": "renamed"},
    )
    listed = ec2_client.simulate_get("/cimi/machines", headers=EC2_AUTH).json

    assert edit.status_code == 200
    assert listed["machines"][0]["name"] == "renamed"


# -- the cache itself ---------------------------------------------------------


ALICE, BOB = Credentials("alice", "a"), Credentials("bob", "b")


class Cloud:
    def __init__(self) -> None:
        self.calls: list = []

    def __call__(self, narrow):
        self.calls.append(narrow)
        return [{"id": str(len(self.calls))}]


def test_a_listing_is_kept_per_credentials_for_its_seconds(monkeypatch):
    now = [100.0]
    monkeypatch.setattr("gateway.listings.time.monotonic", lambda: now[0])
    listings, cloud = Listings(3), Cloud()

    first = listings.get(ALICE, "Machine", None, cloud)
    assert listings.get(ALICE, "Machine", None, cloud) is first
    assert listings.get(BOB, "Machine", None, cloud) != first  # never shared
    assert listings.get(ALICE, "MachineImage", None, cloud) != first
    now[0] += 3.5
    assert listings.get(ALICE, "Machine", None, cloud) != first
    assert len(cloud.calls) == 4


def test_a_narrowed_listing_is_not_kept_but_a_full_one_serves_it():
    listings, cloud = Listings(60), Cloud()
    narrow = {"state": frozenset({"STARTED"})}

    listings.get(ALICE, "Machine", narrow, cloud)
    listings.get(ALICE, "Machine", narrow, cloud)
    assert cloud.calls == [narrow, narrow]
    full = listings.get(ALICE, "Machine", None, cloud)
    assert listings.get(ALICE, "Machine", narrow, cloud) is full
    assert len(cloud.calls) == 3


def test_forget_drops_the_callers_listings_only():
    listings, cloud = Listings(60), Cloud()
    alice = listings.get(ALICE, "Machine", None, cloud)
    bob = listings.get(BOB, "Machine", None, cloud)

    listings.forget(ALICE)

    assert listings.get(ALICE, "Machine", None, cloud) != alice
    assert listings.get(BOB, "Machine", None, cloud) is bob


def test_a_listing_fetched_across_a_write_is_not_kept():
    listings = Listings(60)

    def slow_cloud(narrow):
        listings.forget(ALICE)  # a write lands while the cloud answers
        return [{"id": "before the write"}]

    listings.get(ALICE, "Machine", None, slow_cloud)
    fresh = listings.get(ALICE, "Machine", None, lambda narrow: [{"id": "after"}])
    assert fresh == [{"id": "after"}]


def test_zero_seconds_keeps_nothing():
    listings, cloud = Listings(0), Cloud()
    listings.get(ALICE, "Machine", None, cloud)
    listings.get(ALICE, "Machine", None, cloud)
    assert len(cloud.calls) == 2


# -- the mock pages in its store ----------------------------------------------


def test_the_mock_pages_images_in_its_store_without_listing_them(
    mock_client, monkeypatch
):
    from providers.mock import MockProvider

    def never(*args, **kwargs):
        raise AssertionError("a plain page must not list every image")

    monkeypatch.setattr(MockProvider, "list_machine_images", never)
    body = mock_client.simulate_get(
        "/cimi/machine_images",
        query_string="$first=2&$last=3",
        headers={**AUTH, "Accept": "application/json"},
    ).json

    assert body["count"] == 3
    assert [m["id"].rsplit("/", 1)[1] for m in body["machineImages"]] == [
        "img2",
        "img3",
    ]
    everything = mock_client.simulate_get(
        "/cimi/machine_images", headers={**AUTH, "Accept": "application/json"}
    ).json
    assert [m["name"] for m in everything["machineImages"]] == ["img1", "img2", "img3"]
