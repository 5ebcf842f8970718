"""Addresses and networks over HTTP, on every cloud that has them.

An address's life: allocate, associate with a machine (an edit naming the
machine as its ``resource``), disassociate (an Action), release; and the
refusals on the way, each leaving nothing behind.
"""

from __future__ import annotations

import pytest

from tests.e2e.scenario import ACTION
from tests.e2e.scenario import NS
from tests.e2e.scenario import Cloud
from tests.e2e.scenario import create_machine
from tests.e2e.scenario import entry_point
from tests.e2e.scenario import href_of
from tests.e2e.scenario import operation
from tests.e2e.scenario import rels

#: the clouds with no networks API behind the gateway: OpenStack without
#: Neutron (the test stack has none: Nova's own double stands in for it).
NO_NETWORKS = ("openstack",)


@pytest.fixture
def networked(cloud: Cloud) -> Cloud:
    if cloud.name in NO_NETWORKS:
        pytest.skip(
            f"{cloud.name} serves no networks or addresses here; "
            "test_a_cloud_without_networks_does_not_advertise_them checks it"
        )
    return cloud


def test_a_cloud_without_networks_does_not_advertise_them(cloud: Cloud, api):
    cep = entry_point(cloud, api)
    keys = ("networks", "addresses", "addressTemplates")
    if cloud.name not in NO_NETWORKS:
        assert all(key in cep for key in keys)
        return
    assert not any(key in cep for key in keys)
    metadata = api.get(cep["resourceMetadata"]["href"]).json()["resourceMetadata"]
    assert not {"Network", "Address"} & {m["name"] for m in metadata}
    for path in ("networks", "addresses", "address_templates"):
        assert api.get(f"{cep['baseURI']}{path}").status_code == 404


def test_networks_are_listed_and_read(networked: Cloud, api):
    cloud = networked
    cep = entry_point(cloud, api)

    listed = api.get(cep["networks"]["href"]).json()
    assert listed["count"] >= 1
    network = api.get(listed["networks"][0]["id"]).json()
    assert network["state"] == "STARTED"
    assert network["networkType"] in ("PUBLIC", "PRIVATE")
    assert api.get(href_of(cep["networks"], "no-such")).status_code == 404
    assert api.post(cep["networks"]["href"], json={}).status_code == 405


def test_the_life_of_an_address(networked: Cloud, api):
    cloud = networked
    cep = entry_point(cloud, api)
    machine = create_machine(cloud, api, cep)
    allocated = api.post(
        cep["addresses"]["href"], json={"resourceURI": f"{NS}/AddressCreate"}
    )
    assert allocated.status_code == 201, allocated.text
    url = allocated.headers["Location"]
    try:
        address = api.get(url).json()
        assert address["ip"] and "resource" not in address
        assert url in [
            a["id"] for a in api.get(cep["addresses"]["href"]).json()["addresses"]
        ]

        nobody = api.put(
            url, json={"resource": {"href": href_of(cep["machines"], "x")}}
        )
        assert nobody.status_code == 400, nobody.text  # the body names no machine
        assert "resource" not in api.get(url).json()
        # A client edits what it read: the whole document, one value changed.
        edited = {**address, "resource": {"href": machine["id"]}}
        associated = api.put(url, json=edited)
        assert associated.status_code == 200, associated.text
        address = api.get(url).json()
        assert address["resource"]["href"] == machine["id"]
        assert "delete" not in rels(address)
        refused = api.delete(url)
        assert refused.status_code == 409, refused.text
        # Moving it needs a disassociate first: no silent theft.
        other = api.put(url, json={"resource": {"href": href_of(cep["machines"], "x")}})
        assert other.status_code == 409, other.text

        off = api.post(
            operation(address, "disassociate"),
            json={"action": ACTION + "disassociate"},
        )
        assert off.status_code == 200, off.text
        assert "resource" not in api.get(url).json()
        again = api.post(
            f"{url}/disassociate", json={"action": ACTION + "disassociate"}
        )
        assert again.status_code == 409
    finally:
        api.delete(machine["id"])
    assert api.delete(url).status_code == 200
    assert api.get(url).status_code == 404


def test_address_refusals(networked: Cloud, api):
    cloud = networked
    cep = entry_point(cloud, api)
    before = api.get(cep["addresses"]["href"]).json()["count"]

    foreign = api.post(
        cep["addresses"]["href"],
        json={"addressTemplate": {"href": "http://elsewhere.example/cimi/x/1"}},
    )
    assert foreign.status_code == 400
    no_network = api.post(
        cep["addresses"]["href"],
        json={"addressTemplate": {"network": {"href": href_of(cep["networks"], "no")}}},
    )
    assert no_network.status_code == 400, no_network.text
    assert api.get(cep["addresses"]["href"]).json()["count"] == before
    missing = href_of(cep["addresses"], "no-such-address")
    assert api.get(missing).status_code == 404
    assert api.delete(missing).status_code == 404
    assert api.put(missing, json={"resource": {"href": "x"}}).status_code == 404


def test_an_address_template_round_trips(networked: Cloud, api):
    cloud = networked
    cep = entry_point(cloud, api)
    network = api.get(cep["networks"]["href"]).json()["networks"][0]["id"]
    created = api.post(
        cep["addressTemplates"]["href"],
        json={"name": "web", "protocol": "IPv4", "network": {"href": network}},
    )
    assert created.status_code == 201, created.text
    template = api.get(created.headers["Location"]).json()
    assert (template["protocol"], template["network"]["href"]) == ("IPv4", network)
    assert api.delete(created.headers["Location"]).status_code == 200
