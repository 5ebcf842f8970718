"""The whole life of a volume over HTTP, on every cloud.

Deltacloud's conformance scenario: a volume created, attached to a machine,
detached, snapshotted, restored and deleted, all through hrefs found in the
entry point; then every refusal a client can meet on the way, each leaving
nothing half-made behind.
"""

from __future__ import annotations

import time

import pytest
import requests
from lxml import etree

from tests.e2e.scenario import NS
from tests.e2e.scenario import Cloud
from tests.e2e.scenario import create_machine
from tests.e2e.scenario import entry_point
from tests.e2e.scenario import href_of
from tests.e2e.scenario import operation
from tests.e2e.scenario import rels
from tests.e2e.scenario import wait_for_job
from tests.support.shared import load_schema
from tests.support.shared import without_resource_uri

GIB = 1024 * 1024  # KiB
XML = {"Content-Type": "application/xml", "Accept": "application/xml"}


def first_config(api: requests.Session, cep: dict) -> dict:
    configs = api.get(cep["volumeConfigs"]["href"]).json()["volumeConfigurations"]
    assert configs, "a cloud offers at least one volume configuration"
    return configs[0]


def create_volume(api: requests.Session, cep: dict, template: dict, **body) -> dict:
    created = api.post(
        cep["volumes"]["href"],
        json={"resourceURI": f"{NS}/VolumeCreate", "volumeTemplate": template, **body},
    )
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == created.json()["id"]
    job = wait_for_job(api, created.headers["CIMI-Job-URI"], timeout=30)
    assert job["status"] == "SUCCESS", (job["statusMessage"], job)
    assert job["targetResource"]["href"] == created.json()["id"]
    return api.get(created.headers["Location"]).json()


def delete_volume(api: requests.Session, url: str) -> None:
    deleted = api.delete(url)
    assert deleted.status_code == 202, deleted.text
    assert wait_for_job(api, deleted.headers["CIMI-Job-URI"], 30)["status"] == "SUCCESS"
    assert api.get(url).status_code == 404


def wait_volume(api: requests.Session, url: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        volume = api.get(url).json()
        if volume["state"] != "CREATING" or time.monotonic() > deadline:
            return volume
        time.sleep(0.2)


def test_entry_point_links_the_volume_collections(cloud: Cloud, api):
    cep = entry_point(cloud, api)

    for key in ("volumes", "volumeTemplates", "volumeConfigs", "volumeImages"):
        assert api.get(cep[key]["href"]).status_code == 200, key
    config = first_config(api, cep)
    assert config["capacity"] >= GIB and config["capacity"] % GIB == 0
    assert config["type"] and config["format"]
    metadata = api.get(cep["resourceMetadata"]["href"]).json()["resourceMetadata"]
    assert {"Volume", "VolumeImage", "MachineVolume"} <= {m["name"] for m in metadata}


def test_the_life_of_a_volume(cloud: Cloud, api):
    cep = entry_point(cloud, api)
    config = first_config(api, cep)
    machine = create_machine(cloud, api, cep)
    volume = create_volume(
        api,
        cep,
        {"volumeConfig": {"href": config["id"]}},
        name="data",
        description="made by a test",
        properties={"team": "gw"},
    )
    try:
        assert (volume["state"], volume["capacity"]) == (
            "AVAILABLE",
            config["capacity"],
        )
        assert (volume["name"], volume["description"]) == ("data", "made by a test")
        assert volume["properties"] == {"team": "gw"}
        assert {"edit", "delete"} <= rels(volume)
        edited = api.put(volume["id"], json={"name": "renamed"})
        assert (edited.status_code, edited.json()["name"]) == (200, "renamed"), (
            edited.text
        )

        # Attach it where the machine says its volumes are.
        attachments = machine["volumes"]["href"]
        assert attachments == f"{machine['id']}/volumes"
        attached = api.post(
            attachments,
            json={"initialLocation": "/dev/sdf", "volume": {"href": volume["id"]}},
        )
        assert attached.status_code == 201, attached.text
        attachment = attached.headers["Location"]
        assert attachment == f"{attachments}/{volume['id'].rsplit('/', 1)[-1]}"
        job = wait_for_job(api, attached.headers["CIMI-Job-URI"], timeout=30)
        assert job["status"] == "SUCCESS", job
        assert job["targetResource"]["href"] == attachment
        # (EC2 lists the machine's root volume too.)
        listed = api.get(attachments).json()["machineVolumes"]
        ours = [m for m in listed if m["volume"]["href"] == volume["id"]]
        assert [m["initialLocation"] for m in ours] == ["/dev/sdf"]
        # Attached: it cannot go, nor be attached twice.
        assert "delete" not in rels(api.get(volume["id"]).json())
        refused = api.delete(volume["id"])
        assert refused.status_code == 409, refused.text
        assert "attached" in refused.json()["message"]
        again = api.post(attachments, json={"volume": {"href": volume["id"]}})
        assert again.status_code == 409, again.text

        detached = api.delete(operation(api.get(attachment).json(), "delete"))
        assert detached.status_code == 202, detached.text
        job = wait_for_job(api, detached.headers["CIMI-Job-URI"], timeout=30)
        assert job["status"] == "SUCCESS", job
        listed = api.get(attachments).json()["machineVolumes"]
        assert volume["id"] not in [m["volume"]["href"] for m in listed]
        assert api.get(attachment).status_code == 404

        # Snapshot it, and restore a new volume from the snapshot.
        snapshot = api.post(
            cep["volumeImages"]["href"],
            json={"name": f"snap-{cloud.name}", "imageLocation": volume["id"]},
        )
        assert snapshot.status_code == 201, snapshot.text
        image_url = snapshot.headers["Location"]
        job = wait_for_job(api, snapshot.headers["CIMI-Job-URI"], timeout=30)
        assert job["status"] == "SUCCESS", job
        image = api.get(image_url).json()
        assert (image["state"], image["imageLocation"]) == ("AVAILABLE", volume["id"])
        listed = api.get(cep["volumeImages"]["href"]).json()["volumeImages"]
        assert image_url in [i["id"] for i in listed]
        restored = create_volume(
            api,
            cep,
            {
                "volumeConfig": {"href": config["id"]},
                "volumeImage": {"href": image_url},
            },
            name="restored",
        )
        assert restored["capacity"] >= volume["capacity"]
        delete_volume(api, restored["id"])
        assert api.delete(image_url).status_code == 200
        assert api.get(image_url).status_code == 404
    finally:
        api.delete(machine["id"])
    delete_volume(api, volume["id"])


def test_a_machine_made_with_volumes_gets_them_attached(cloud: Cloud, api):
    cep = entry_point(cloud, api)
    volume = create_volume(api, cep, {"volumeConfig": {"capacity": GIB}})
    created = api.post(
        cep["machines"]["href"],
        json={
            "name": "with-volume",
            "machineTemplate": {
                "machineConfig": {"href": href_of(cep["machineConfigs"], cloud.config)},
                "machineImage": {"href": href_of(cep["machineImages"], cloud.image)},
                "volumes": [{"href": volume["id"]}],
            },
        },
    )
    assert created.status_code == 201, created.text
    machine_url = created.headers["Location"]
    try:
        # One job: the machine made, then (a nested job) the volume attached.
        job = wait_for_job(api, created.headers["CIMI-Job-URI"], 60)
        assert job["status"] == "SUCCESS", job
        assert len(job["nestedJobs"]) == 2
        attached = api.get(created.json()["volumes"]["href"]).json()["machineVolumes"]
        assert volume["id"] in {a["volume"]["href"] for a in attached}
        missing = api.post(
            cep["machines"]["href"],
            json={
                "machineTemplate": {
                    "machineConfig": {
                        "href": href_of(cep["machineConfigs"], cloud.config)
                    },
                    "machineImage": {
                        "href": href_of(cep["machineImages"], cloud.image)
                    },
                    "volumes": [{"href": href_of(cep["volumes"], "no-such")}],
                },
            },
        )
        assert missing.status_code == 400 and "volumes" in missing.json()["message"]
    finally:
        deleted = api.delete(machine_url)
        wait_for_job(api, deleted.headers["CIMI-Job-URI"], 60)
    wait_volume(api, volume["id"])
    deadline = time.monotonic() + 60
    while "delete" not in rels(api.get(volume["id"]).json()):
        assert time.monotonic() < deadline, "the volume is still held"
        time.sleep(0.2)
    delete_volume(api, volume["id"])


def test_templates_xml_and_deltacloud_s_attach(cloud: Cloud, api):
    """A VolumeTemplate by reference, everything in XML, and the attach href
    Deltacloud's clients POST to (``machines/{id}/volume_attach``)."""
    cep = entry_point(cloud, api)
    template = api.post(
        cep["volumeTemplates"]["href"],
        headers=XML,
        data=f"""<VolumeTemplate xmlns="{NS}"><name>small</name>
                   <volumeConfig><capacity>{GIB}</capacity></volumeConfig>
                 </VolumeTemplate>""",
    )
    assert template.status_code == 201, template.text
    created = api.post(
        cep["volumes"]["href"],
        headers=XML,
        data=f"""<VolumeCreate xmlns="{NS}"><name>from-template</name>
                   <volumeTemplate href="{template.headers["Location"]}"/>
                 </VolumeCreate>""",
    )
    assert created.status_code == 201, created.text
    root = etree.fromstring(created.content)
    assert root.tag == f"{{{NS}}}Volume"
    assert int(root.findtext(f"{{{NS}}}capacity")) == GIB
    wait_for_job(api, created.headers["CIMI-Job-URI"], timeout=30)
    volume = wait_volume(api, created.headers["Location"])
    machine = create_machine(cloud, api, cep)
    try:
        attached = api.post(
            f"{machine['id']}/volume_attach",
            headers=XML,
            data=f"""<MachineVolume xmlns="{NS}">
                       <initialLocation>/dev/sdg</initialLocation>
                       <volume href="{volume["id"]}"/>
                     </MachineVolume>""",
        )
        assert attached.status_code == 201, attached.text
        assert etree.fromstring(attached.content).tag == f"{{{NS}}}MachineVolume"
        assert wait_for_job(api, attached.headers["CIMI-Job-URI"], 30)["status"] == (
            "SUCCESS"
        )
        schema = load_schema()
        for url in (attached.headers["Location"], f"{machine['id']}/volumes"):
            document = api.get(url, headers={"Accept": "application/xml"})
            assert schema.validate(without_resource_uri(document.content)), (
                schema.error_log
            )
        detached = api.delete(attached.headers["Location"])
        assert wait_for_job(api, detached.headers["CIMI-Job-URI"], 30)["status"] == (
            "SUCCESS"
        )
    finally:
        api.delete(machine["id"])
        api.delete(template.headers["Location"])
    delete_volume(api, volume["id"])


ELSEWHERE = "http://elsewhere.example/cimi"


@pytest.mark.parametrize(
    ("template", "words"),
    [
        pytest.param(
            lambda cep: {"volumeConfig": {"href": href_of(cep["volumeConfigs"], "x")}},
            "volumeConfig",
            id="unknown-config",
        ),
        pytest.param(
            lambda cep: {
                "volumeConfig": {"capacity": GIB},
                "volumeImage": {"href": href_of(cep["volumeImages"], "no-such")},
            },
            "volumeImage",
            id="unknown-image",
        ),
        pytest.param(
            lambda cep: {"volumeConfig": {"capacity": 0}}, "capacity", id="zero"
        ),
        pytest.param(
            lambda cep: {"volumeConfig": {"capacity": -GIB}}, "capacity", id="negative"
        ),
        pytest.param(
            lambda cep: {"volumeConfig": {"capacity": 10**9 * GIB}},
            "capacity",
            id="absurd",
        ),
        pytest.param(
            lambda cep: {"volumeConfig": {"capacity": "big"}},
            "capacity",
            id="not-a-number",
        ),
        pytest.param(
            lambda cep: {"volumeConfig": {"capacity": GIB, "type": "no://such"}},
            "type",
            id="unknown-type",
        ),
        pytest.param(
            lambda cep: {"href": f"{ELSEWHERE}/volume_templates/1"},
            "volumeTemplate",
            id="foreign-template",
        ),
        pytest.param(
            lambda cep: {"href": href_of(cep["volumeTemplates"], "gone")},
            "gone",
            id="missing-template",
        ),
        pytest.param(lambda cep: {"name": "x"}, "volumeConfig", id="no-config"),
    ],
)
def test_a_bad_volume_create_is_400_and_makes_nothing(cloud, api, template, words):
    cep = entry_point(cloud, api)
    before = api.get(cep["volumes"]["href"]).json()["count"]

    response = api.post(cep["volumes"]["href"], json={"volumeTemplate": template(cep)})

    assert response.status_code == 400, response.text
    assert words in response.json()["message"]
    assert api.get(cep["volumes"]["href"]).json()["count"] == before


def test_refusals_on_the_way(cloud, api):
    cep = entry_point(cloud, api)
    volume = create_volume(api, cep, {"volumeConfig": {"capacity": GIB}})
    machine = create_machine(cloud, api, cep)
    attachments = machine["volumes"]["href"]
    try:
        for body, status in (
            ({"volume": {"href": href_of(cep["volumes"], "no-such")}}, 400),
            # Whatever the cloud's words for it, a missing volume is the body's.
            ({"volume": {"href": href_of(cep["volumes"], "machine1")}}, 400),
            ({"volume": {"href": f"{ELSEWHERE}/volumes/x"}}, 400),
            ({"initialLocation": "/dev/sdf"}, 400),
        ):
            refused = api.post(attachments, json=body)
            assert refused.status_code == status, (body, refused.text)
        missing = api.post(
            href_of(cep["machines"], "no-such-machine") + "/volumes",
            json={"volume": {"href": volume["id"]}},
        )
        assert missing.status_code == 404, missing.text
        assert api.get(f"{attachments}/not-attached").status_code == 404
        assert api.delete(f"{attachments}/not-attached").status_code == 404
        snapshot = api.post(
            cep["volumeImages"]["href"],
            json={"imageLocation": href_of(cep["volumes"], "no-such")},
        )
        assert snapshot.status_code == 400, snapshot.text
        images = api.get(cep["volumeImages"]["href"]).json()["count"]
        foreign = api.post(
            cep["volumeImages"]["href"],
            json={"imageLocation": f"{ELSEWHERE}/volumes/x"},
        )
        assert foreign.status_code == 400
        assert api.get(cep["volumeImages"]["href"]).json()["count"] == images
        assert api.get(href_of(cep["volumes"], "no-such")).status_code == 404
        assert api.get(href_of(cep["volumeImages"], "no-such")).status_code == 404
        assert api.get(href_of(cep["volumeConfigs"], "no-such")).status_code == 404
        read_only = api.put(volume["id"], json={"capacity": 5})
        assert (
            read_only.status_code == 400 and "capacity" in read_only.json()["message"]
        )
    finally:
        api.delete(machine["id"])
    delete_volume(api, volume["id"])


def test_volume_queries_and_conditional_reads(cloud, api):
    cep = entry_point(cloud, api)
    volume = create_volume(api, cep, {"volumeConfig": {"capacity": 2 * GIB}}, name="q")
    try:
        found = api.get(
            cep["volumes"]["href"],
            params={"$filter": f"capacity>={2 * GIB} and name='q'", "$select": "name"},
        ).json()
        assert [v["id"] for v in found["volumes"]] == [volume["id"]]
        assert set(found["volumes"][0]) == {"id", "name"}
        bad = api.get(cep["volumes"]["href"], params={"$filter": "capacity='big'"})
        assert bad.status_code == 400
        ordered = api.get(
            cep["volumes"]["href"], params={"$orderby": "capacity:desc"}
        ).json()["volumes"]
        capacities = [v["capacity"] for v in ordered]
        assert capacities == sorted(capacities, reverse=True)

        tag = api.get(volume["id"]).headers["ETag"]
        unchanged = api.get(volume["id"], headers={"If-None-Match": tag})
        assert (unchanged.status_code, unchanged.content) == (304, b"")
        stale = api.put(volume["id"], json={"name": "x"}, headers={"If-Match": '"no"'})
        assert stale.status_code == 412
        assert api.get(volume["id"]).json()["name"] == "q"
    finally:
        delete_volume(api, volume["id"])
