"""Systems over HTTP, on every cloud: several resources made, driven and
deleted as one, each component checked on the cloud in between.
"""

from __future__ import annotations

import time
import uuid

import requests

from tests.e2e.scenario import ACTION
from tests.e2e.scenario import NS
from tests.e2e.scenario import PUBLIC_KEY
from tests.e2e.scenario import Cloud
from tests.e2e.scenario import create_machine
from tests.e2e.scenario import entry_point
from tests.e2e.scenario import href_of
from tests.e2e.scenario import operation
from tests.e2e.scenario import rels
from tests.e2e.scenario import wait_for_job

GIB = 1024 * 1024  # KiB
VOLUME = {"volumeConfig": {"capacity": GIB}}
#: long enough for the OpenStack stack to build and delete two servers.
SLOW = 120


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def machine_template(cloud: Cloud, cep: dict, **more) -> dict:
    return {
        "machineConfig": {"href": href_of(cep["machineConfigs"], cloud.config)},
        "machineImage": {"href": href_of(cep["machineImages"], cloud.image)},
        **more,
    }


def app_template(cloud: Cloud, cep: dict, key_name: str) -> dict:
    """Two machines using the system's own key pair, and a volume."""
    return {
        "resourceURI": f"{NS}/SystemTemplate",
        "name": "app",
        "description": "two machines, a key, a volume",
        "componentDescriptors": [
            {
                "name": "web",
                "type": f"{NS}/Machine",
                "machineTemplate": machine_template(
                    cloud, cep, credential={"href": f"#{key_name}"}
                ),
            },
            {
                "name": "db",
                "type": f"{NS}/Machine",
                # The system's own volume, attached once both are made.
                "machineTemplate": machine_template(
                    cloud, cep, volumes=[{"href": "#data"}]
                ),
            },
            {
                "name": key_name,
                "type": f"{NS}/Credential",
                "credentialTemplate": {"key": PUBLIC_KEY},
            },
            {
                "name": "data",
                "type": f"{NS}/Volume",
                "volumeTemplate": {"volumeConfig": {"capacity": GIB}},
            },
        ],
    }


def members(api: requests.Session, url: str, key: str) -> list[dict]:
    listed = api.get(url)
    assert listed.status_code == 200, listed.text
    return listed.json().get(key, [])


def ids(api: requests.Session, cep: dict, collection: str, key: str) -> set[str]:
    return {m["id"] for m in members(api, cep[collection]["href"], key)}


def wait_gone(api: requests.Session, url: str, timeout: float = SLOW) -> None:
    deadline = time.monotonic() + timeout
    while api.get(url).status_code != 404:
        assert time.monotonic() < deadline, f"{url} is still there"
        time.sleep(0.2)


def create_system(api: requests.Session, cep: dict, template: dict, **body) -> dict:
    created = api.post(
        cep["systems"]["href"],
        json={"resourceURI": f"{NS}/SystemCreate", "systemTemplate": template, **body},
    )
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == created.json()["id"]
    job = wait_for_job(api, created.headers["CIMI-Job-URI"], SLOW)
    assert job["status"] == "SUCCESS", job
    assert job["targetResource"]["href"] == created.json()["id"]
    return {"system": api.get(created.headers["Location"]).json(), "job": job}


def delete_system(api: requests.Session, url: str) -> dict:
    deleted = api.delete(url)
    assert deleted.status_code == 202, deleted.text
    job = wait_for_job(api, deleted.headers["CIMI-Job-URI"], SLOW)
    assert job["status"] == "SUCCESS", job
    assert api.get(url).status_code == 404
    return job


def test_the_life_of_a_system(cloud: Cloud, api):
    cep = entry_point(cloud, api)
    assert {"systems", "systemTemplates"} <= set(cep)
    key_name = unique("syskey")
    stored = api.post(
        cep["systemTemplates"]["href"], json=app_template(cloud, cep, key_name)
    )
    assert stored.status_code == 201, stored.text
    template_url = stored.headers["Location"]
    shown = api.get(template_url).json()["componentDescriptors"]
    assert [d["type"] for d in shown] == [
        f"{NS}/Machine",
        f"{NS}/Machine",
        f"{NS}/Credential",
        f"{NS}/Volume",
    ]
    assert shown[0]["machineTemplate"]["credential"] == {"href": f"#{key_name}"}
    assert shown[1]["machineTemplate"]["volumes"] == [{"href": "#data"}]

    made = create_system(
        api, cep, {"href": template_url}, name="shop", properties={"tier": "web"}
    )
    system, job = made["system"], made["job"]
    url = system["id"]
    try:
        assert (system["name"], system["properties"]) == ("shop", {"tier": "web"})
        assert system["state"] == "STARTED"
        # One nested job per component, each naming the system's job, and
        # one for the volume attached to its machine.
        assert len(job["nestedJobs"]) == 5
        for nested in job["nestedJobs"]:
            child = api.get(nested["href"]).json()
            assert child["parentJob"]["href"] == job["id"]
            assert child["status"] == "SUCCESS"
        machines = members(api, system["machines"]["href"], "systemMachines")
        volumes = members(api, system["volumes"]["href"], "systemVolumes")
        keys = members(api, system["credentials"]["href"], "systemCredentials")
        assert (len(machines), len(volumes), len(keys)) == (2, 1, 1)
        # Every component is the cloud's own, listed in its collection.
        machine_urls = {m["machine"]["href"] for m in machines}
        assert machine_urls <= ids(api, cep, "machines", "machines")
        named = {m["name"]: m for m in (api.get(u).json() for u in machine_urls)}
        assert set(named) == {"web", "db"}
        assert volumes[0]["volume"]["href"] in ids(api, cep, "volumes", "volumes")
        attached = members(api, named["db"]["volumes"]["href"], "machineVolumes")
        # (EC2 lists a machine's root volume too.)
        data = volumes[0]["volume"]["href"]
        assert data in {a["volume"]["href"] for a in attached}
        web = members(api, named["web"]["volumes"]["href"], "machineVolumes")
        assert data not in {a["volume"]["href"] for a in web}
        assert keys[0]["credential"]["href"] == href_of(cep["credentials"], key_name)
        assert api.get(keys[0]["credential"]["href"]).status_code == 200
        entry = api.get(machines[0]["id"])
        assert (
            entry.status_code == 200
            and entry.json()["machine"] == machines[0]["machine"]
        )

        assert {"stop", "start", "restart"} <= rels(system)
        stopped = api.post(operation(system, "stop"), json={"action": ACTION + "stop"})
        assert stopped.status_code == 202, stopped.text
        job = wait_for_job(api, stopped.headers["CIMI-Job-URI"], SLOW)
        assert job["status"] == "SUCCESS", job
        assert len(job["nestedJobs"]) == 2
        assert api.get(url).json()["state"] == "STOPPED"
        for machine_url in machine_urls:
            assert api.get(machine_url).json()["state"] == "STOPPED"
        started = api.post(
            operation(system, "start"), json={"action": ACTION + "start"}
        )
        assert (
            wait_for_job(api, started.headers["CIMI-Job-URI"], SLOW)["status"]
            == "SUCCESS"
        )
        assert api.get(url).json()["state"] == "STARTED"

        edited = api.put(url, json={"name": "shop2", "description": "renamed"})
        assert edited.status_code == 200, edited.text
        assert (api.get(url).json()["name"], edited.json()["description"]) == (
            "shop2",
            "renamed",
        )
    finally:
        job = delete_system(api, url)
    # Gone from the cloud: machines, volume, key pair.
    for machine_url in machine_urls:
        wait_gone(api, machine_url)
    assert volumes[0]["volume"]["href"] not in ids(api, cep, "volumes", "volumes")
    assert api.get(keys[0]["credential"]["href"]).status_code == 404
    assert url not in ids(api, cep, "systems", "systems")
    # The template stays; it can make the system again.
    assert api.get(template_url).status_code == 200
    assert api.delete(template_url).status_code == 200


def test_a_system_by_value_and_queries(cloud: Cloud, api):
    cep = entry_point(cloud, api)
    name = unique("byvalue")
    made = create_system(
        api,
        cep,
        {
            "componentDescriptors": [
                {
                    "type": f"{NS}/Machine",
                    "name": "solo",
                    "machineTemplate": machine_template(cloud, cep),
                },
            ]
        },
        name=name,
    )
    url = made["system"]["id"]
    try:
        found = api.get(
            cep["systems"]["href"],
            params={"$filter": f"name='{name}'", "$select": "name,state"},
        ).json()
        assert found["count"] == 1
        assert found["systems"][0] == {"id": url, "name": name, "state": "STARTED"} | {
            k: v
            for k, v in found["systems"][0].items()
            if k not in ("id", "name", "state")
        }
        assert set(found["systems"][0]) <= {"id", "name", "state", "operations"}
        machines = api.get(
            made["system"]["machines"]["href"], params={"$filter": "name='nobody'"}
        ).json()
        assert machines["count"] == 0
        none = api.get(cep["systems"]["href"], params={"$filter": "name='no-such'"})
        assert none.json()["count"] == 0
    finally:
        delete_system(api, url)


def test_a_component_failing_half_way_leaves_no_orphan(cloud: Cloud, api):
    cep = entry_point(cloud, api)
    taken = unique("taken")
    made_first = unique("first")
    existing = api.post(
        cep["credentials"]["href"],
        json={"name": taken, "credentialTemplate": {"key": PUBLIC_KEY}},
    )
    assert existing.status_code == 201, existing.text
    systems_before = ids(api, cep, "systems", "systems")
    try:
        # The first key is made; the second's name the cloud has already.
        refused = api.post(
            cep["systems"]["href"],
            json={
                "systemTemplate": {
                    "componentDescriptors": [
                        {
                            "name": made_first,
                            "type": f"{NS}/Credential",
                            "credentialTemplate": {"key": PUBLIC_KEY},
                        },
                        {
                            "name": taken,
                            "type": f"{NS}/Credential",
                            "credentialTemplate": {"key": PUBLIC_KEY},
                        },
                    ]
                }
            },
        )
        assert refused.status_code == 409, refused.text
        assert f"Credential {taken}" in refused.json()["message"]
        job = api.get(refused.headers["CIMI-Job-URI"]).json()
        assert job["status"] == "FAILED"
        assert taken in job["statusMessage"] and "deleted again" in job["statusMessage"]
        statuses = [api.get(n["href"]).json()["status"] for n in job["nestedJobs"]]
        assert statuses == ["SUCCESS", "FAILED"]  # the first made, the second refused
        credentials = {
            c.rsplit("/", 1)[1] for c in ids(api, cep, "credentials", "credentials")
        }
        assert made_first not in credentials  # deleted again
        assert taken in credentials  # not the system's to delete
        assert ids(api, cep, "systems", "systems") == systems_before
    finally:
        api.delete(existing.headers["Location"])


def test_what_cannot_be_made_is_refused_before_anything_is(cloud: Cloud, api):
    cep = entry_point(cloud, api)
    before = {
        name: ids(api, cep, name, name) for name in ("machines", "volumes", "systems")
    }
    good_volume = {
        "type": f"{NS}/Volume",
        "volumeTemplate": {"volumeConfig": {"capacity": GIB}},
    }
    for descriptors, words in (
        (
            [
                good_volume,
                {
                    "type": f"{NS}/Machine",
                    "machineTemplate": machine_template(
                        cloud,
                        cep,
                        machineImage={"href": href_of(cep["machineImages"], "no-such")},
                    ),
                },
            ],
            "no such image",
        ),
        ([{"type": f"{NS}/Credential", "credentialTemplate": {"name": "k"}}], "key"),
        ([{"type": f"{NS}/Network", "networkTemplate": {}}], "type"),
        (
            [{"type": f"{NS}/Volume", "machineTemplate": {"name": "m"}}],
            "volumeTemplate",
        ),
        ([{**good_volume, "quantity": 0}], "quantity"),
        ([{**good_volume, "quantity": 500}], "quantity"),
        (
            [
                {
                    "type": f"{NS}/Machine",
                    "machineTemplate": machine_template(
                        cloud, cep, credential={"href": "#nobody"}
                    ),
                }
            ],
            "#nobody",
        ),
        ([{"type": f"{NS}/System", "systemTemplate": {"name": "inline"}}], "href"),
    ):
        body = {"systemTemplate": {"componentDescriptors": descriptors}}
        refused = api.post(cep["systems"]["href"], json=body)
        assert refused.status_code == 400, (descriptors, refused.text)
        assert words in refused.json()["message"], refused.text
        assert "CIMI-Job-URI" not in refused.headers
        stored = api.post(cep["systemTemplates"]["href"], json=body["systemTemplate"])
        assert stored.status_code == 400, (descriptors, stored.text)
    assert api.post(cep["systems"]["href"], json={}).status_code == 400
    missing = href_of(cep["systemTemplates"], "no-such")
    assert (
        api.post(
            cep["systems"]["href"], json={"systemTemplate": {"href": missing}}
        ).status_code
        == 400
    )
    after = {
        name: ids(api, cep, name, name) for name in ("machines", "volumes", "systems")
    }
    assert after == before
    no_system = href_of(cep["systems"], "no-such")
    assert api.get(no_system).status_code == 404
    assert api.delete(no_system).status_code == 404
    assert api.get(f"{no_system}/machines").status_code == 404


def test_a_resource_is_added_to_a_system_and_taken_out(cloud: Cloud, api):
    cep = entry_point(cloud, api)
    machine = create_machine(cloud, api, cep)
    made = create_system(
        api,
        cep,
        {
            "componentDescriptors": [
                {
                    "type": f"{NS}/Volume",
                    "volumeTemplate": {"volumeConfig": {"capacity": GIB}},
                }
            ]
        },
        name=unique("holder"),
    )
    system = made["system"]
    machines = system["machines"]["href"]
    try:
        added = api.post(
            machines,
            json={
                "resourceURI": f"{NS}/SystemMachine",
                "machine": {"href": machine["id"]},
            },
        )
        assert added.status_code == 201, added.text
        assert [
            m["machine"]["href"] for m in members(api, machines, "systemMachines")
        ] == [machine["id"]]
        again = api.post(machines, json={"machine": {"href": machine["id"]}})
        assert again.status_code == 409
        nothing = api.post(
            machines, json={"machine": {"href": href_of(cep["machines"], "x")}}
        )
        assert nothing.status_code == 400
        assert api.get(system["id"]).json()["state"] == "STARTED"

        removed = api.delete(added.headers["Location"])
        assert removed.status_code == 200
        assert members(api, machines, "systemMachines") == []
        assert api.get(added.headers["Location"]).status_code == 404
        # Taken out, not deleted.
        assert api.get(machine["id"]).status_code == 200
    finally:
        delete_system(api, system["id"])
        assert api.get(machine["id"]).status_code == 200
        api.delete(machine["id"])


def test_a_system_in_a_system(cloud: Cloud, api):
    cep = entry_point(cloud, api)
    inner = api.post(
        cep["systemTemplates"]["href"],
        json={
            "name": "inner",
            "componentDescriptors": [
                {
                    "name": "store",
                    "type": f"{NS}/Volume",
                    "volumeTemplate": {"volumeConfig": {"capacity": GIB}},
                }
            ],
        },
    )
    assert inner.status_code == 201, inner.text
    try:
        made = create_system(
            api,
            cep,
            {
                "componentDescriptors": [
                    {
                        "name": "part",
                        "type": f"{NS}/System",
                        "systemTemplate": {"href": inner.headers["Location"]},
                    }
                ]
            },
            name=unique("outer"),
        )
        outer = made["system"]
        held = members(api, outer["systems"]["href"], "systemSystems")
        assert len(held) == 1
        nested_url = held[0]["system"]["href"]
        nested = api.get(nested_url).json()
        assert nested["name"] == "part"
        # The nested system's own job is the outer one's nested job.
        child = api.get(made["job"]["nestedJobs"][0]["href"]).json()
        assert child["targetResource"]["href"] == nested_url
        assert child["parentJob"]["href"] == made["job"]["id"]
        volume = members(api, nested["volumes"]["href"], "systemVolumes")[0]
        assert volume["volume"]["href"] in ids(api, cep, "volumes", "volumes")
        # A system cannot go into one it holds.
        loop = api.post(f"{nested_url}/systems", json={"system": {"href": outer["id"]}})
        assert loop.status_code == 400, loop.text

        delete_system(api, outer["id"])
        assert api.get(nested_url).status_code == 404
        assert volume["volume"]["href"] not in ids(api, cep, "volumes", "volumes")
    finally:
        api.delete(inner.headers["Location"])


def test_a_network_is_put_in_a_system_and_outlives_it(cloud: Cloud, api):
    cep = entry_point(cloud, api)
    made = create_system(
        api,
        cep,
        {"componentDescriptors": [{"type": f"{NS}/Volume", "volumeTemplate": VOLUME}]},
        name=unique("networked"),
    )
    system = made["system"]
    if "networks" not in cep:
        # No networks here: no such component collection either.
        assert "networks" not in system
        delete_system(api, system["id"])
        return
    network = api.get(cep["networks"]["href"]).json()["networks"][0]["id"]
    added = api.post(system["networks"]["href"], json={"network": {"href": network}})
    assert added.status_code == 201, added.text
    listed = members(api, system["networks"]["href"], "systemNetworks")
    assert [n["network"]["href"] for n in listed] == [network]
    delete_system(api, system["id"])
    # The cloud's network is the system's to hold, not to delete.
    assert api.get(network).status_code == 200


def test_deltacloud_s_demo_template_makes_a_system(mock_gateway, client):
    # Deltacloud's own scenario answered 404 here: a SystemCreate from its
    # mock's template1. The mock ships it, so `serve` shows systems at once.
    base = f"{mock_gateway.url}/cimi"
    client.headers["Accept"] = "application/json"
    template = client.get(f"{base}/system_templates/template1")
    assert template.status_code == 200, template.text
    assert [d["quantity"] for d in template.json()["componentDescriptors"]] == [2, 1]

    made = create_system(
        client,
        {"systems": {"href": f"{base}/systems"}},
        {"href": f"{base}/system_templates/template1"},
    )
    system = made["system"]
    machines = members(client, system["machines"]["href"], "systemMachines")
    volumes = members(client, system["volumes"]["href"], "systemVolumes")
    assert (len(machines), len(volumes)) == (2, 1)
    assert {client.get(m["machine"]["href"]).json()["name"] for m in machines} == {
        "my machine-1",
        "my machine-2",
    }
    delete_system(client, system["id"])
