"""The whole life of a machine over HTTP: the mock cloud, EC2 (moto), OpenStack.

A client discovers everything from the entry point and follows only the hrefs
the server hands out (``tests/e2e/scenario.py``), on every cloud (``cloud``).
"""

from __future__ import annotations

import socket
import time

import pytest
import requests
from lxml import etree

from tests.e2e.conftest import JSON
from tests.e2e.gunicorn import Gateway
from tests.e2e.scenario import ACTION
from tests.e2e.scenario import NS
from tests.e2e.scenario import PUBLIC_KEY
from tests.e2e.scenario import act
from tests.e2e.scenario import create_machine
from tests.e2e.scenario import entry_point
from tests.e2e.scenario import href_of
from tests.e2e.scenario import operation
from tests.e2e.scenario import rels
from tests.e2e.scenario import wait_for_job


def test_entry_point_links_every_collection(cloud, api):
    cep = entry_point(cloud, api)

    for key in (
        "machines",
        "machineTemplates",
        "machineConfigs",
        "machineImages",
        "jobs",
    ):
        assert api.get(cep[key]["href"]).status_code == 200, key


def test_configurations_are_sizes_in_kib_and_pageable(cloud, api):
    cep = entry_point(cloud, api)

    whole = api.get(cep["machineConfigs"]["href"]).json()
    page = api.get(
        cep["machineConfigs"]["href"], params={"$first": 2, "$last": 3}
    ).json()
    one = api.get(href_of(cep["machineConfigs"], cloud.config)).json()

    assert page["count"] == whole["count"] >= 3
    assert [c["id"] for c in page["machineConfigurations"]] == [
        c["id"] for c in whole["machineConfigurations"][1:3]
    ]
    assert isinstance(one["cpu"], int) and isinstance(one["memory"], int)
    assert one["memory"] >= 512 * 1024  # KiB
    bad = api.get(cep["machineConfigs"]["href"], params={"$first": "zero"})
    assert bad.status_code == 400


def test_lifecycle_by_value(cloud, api):
    cep = entry_point(cloud, api)
    machine = create_machine(cloud, api, cep)
    assert machine["state"] == "STARTED"
    assert machine["name"] == "lifecycle"
    assert machine["description"] == "made by a test"
    assert machine["properties"] == {"team": "gw"}
    assert {"stop", "restart", "capture", "delete", "edit"} <= rels(machine)
    assert "start" not in rels(machine)

    stopped = act(api, machine, "stop")
    assert stopped.status_code == 202
    assert wait_for_job(api, stopped.headers["CIMI-Job-URI"])["status"] == "SUCCESS"
    machine = api.get(machine["id"]).json()
    assert machine["state"] == "STOPPED"
    assert {"start", "capture", "delete"} <= rels(machine)
    assert not {"stop", "restart"} & rels(machine)

    started = act(api, machine, "start")
    assert wait_for_job(api, started.headers["CIMI-Job-URI"])["status"] == "SUCCESS"
    machine = api.get(machine["id"]).json()
    assert machine["state"] == "STARTED"

    restarted = act(api, machine, "restart", force=True)
    assert restarted.status_code == 202
    assert wait_for_job(api, restarted.headers["CIMI-Job-URI"])["status"] == "SUCCESS"

    # The advertised capture href is the images collection (the seed's POST of
    # a MachineImage); an Action also captures at the machine's own /capture.
    assert operation(machine, "capture") == cep["machineImages"]["href"]
    captured = api.post(machine["id"] + "/capture", json={"action": ACTION + "capture"})
    assert captured.status_code == 202
    image_url = captured.headers["Location"]
    assert wait_for_job(api, captured.headers["CIMI-Job-URI"])["status"] == "SUCCESS"
    assert api.get(image_url).json()["state"] == "AVAILABLE"
    assert api.delete(image_url).status_code == 200

    deleted = api.delete(machine["id"])
    assert deleted.status_code == 202
    job = wait_for_job(api, deleted.headers["CIMI-Job-URI"])
    assert job["status"] == "SUCCESS"
    assert api.get(machine["id"]).status_code == 404


def test_lifecycle_by_reference_in_xml(cloud, api):
    cep = entry_point(cloud, api)
    xml = {"Content-Type": "application/xml", "Accept": "application/xml"}
    config = href_of(cep["machineConfigs"], cloud.config)
    image = href_of(cep["machineImages"], cloud.image)
    template = api.post(
        cep["machineTemplates"]["href"],
        headers=xml,
        data=f"""<MachineTemplateCreate xmlns="{NS}">
                   <name> small </name>
                   <initialState>STOPPED</initialState>
                   <machineConfig href="{config}"/>
                   <machineImage href="{image}"/>
                 </MachineTemplateCreate>""",
    )
    assert template.status_code == 201, template.text
    template_url = template.headers["Location"]

    created = api.post(
        cep["machines"]["href"],
        headers=xml,
        data=f"""<MachineCreate xmlns="{NS}"><name>from-template</name>
                 <machineTemplate href="{template_url}"/></MachineCreate>""",
    )

    assert created.status_code == 201, created.text
    assert created.headers["Content-Type"] == "application/xml"
    root = etree.fromstring(created.content)
    assert root.findtext(f"{{{NS}}}name") == "from-template"
    job = wait_for_job(api, created.headers["CIMI-Job-URI"])
    assert job["status"] == "SUCCESS"
    machine = api.get(created.headers["Location"]).json()
    assert machine["state"] == "STOPPED"
    started = api.post(
        operation(machine, "start"),
        headers=xml,
        data=f'<Action xmlns="{NS}"><action>{ACTION}start</action></Action>',
    )
    assert started.status_code == 202, started.text
    job = etree.fromstring(started.content)
    assert job.tag == f"{{{NS}}}Job"
    assert wait_for_job(api, started.headers["CIMI-Job-URI"])["status"] == "SUCCESS"

    # Deleting the template leaves its machines alone.
    assert api.delete(template_url).status_code == 200
    assert api.get(template_url).status_code == 404
    assert api.get(machine["id"]).status_code == 200
    assert api.delete(machine["id"]).status_code == 202


def test_edit_machine(cloud, api):
    cep = entry_point(cloud, api)
    machine = create_machine(cloud, api, cep)

    edited = api.put(
        machine["id"],
        json={"name": "renamed", "description": "new", "properties": {"tier": "web"}},
    )

    assert edited.status_code == 200, edited.text
    again = api.get(machine["id"]).json()
    assert (again["name"], again["description"]) == ("renamed", "new")
    assert again["properties"] == {"tier": "web"}
    # Echoing read-only values is fine; changing one is not.
    echoed = api.put(machine["id"], json={**again, "name": "echo"})
    assert echoed.status_code == 200, echoed.text
    # An id may be given bare; it names the same machine.
    bare = api.put(machine["id"], json={"id": machine["id"].rsplit("/", 1)[-1]})
    assert bare.status_code == 200, bare.text
    for attr, value in (
        ("state", "STOPPED"),
        ("id", "http://x/y"),
        ("cpu", 64),
        ("operations", []),
    ):
        refused = api.put(machine["id"], json={"name": "x", attr: value})
        assert refused.status_code == 400
        assert attr.removesuffix("s") in refused.json()["message"]
    api.delete(machine["id"])


def test_actions_are_checked(cloud, api):
    cep = entry_point(cloud, api)
    machine = create_machine(cloud, api, cep)
    stop_href = operation(machine, "stop")
    start_href = stop_href.rsplit("/", 1)[0] + "/start"

    lenient = api.post(
        stop_href,
        json={"action": "  http://http://schemas.dmtf.org/cimi/1/action/stop "},
    )
    assert lenient.status_code == 202
    wait_for_job(api, lenient.headers["CIMI-Job-URI"])

    assert api.post(stop_href, json={"action": ACTION + "stop"}).status_code == 409
    mismatch = api.post(start_href, json={"action": ACTION + "stop"})
    assert mismatch.status_code == 400
    unknown = api.post(start_href, json={"action": ACTION + "explode"})
    assert unknown.status_code == 400
    assert (
        api.post(
            start_href, data="<Action/>", headers={"Content-Type": "application/xml"}
        ).status_code
        == 400
    )

    # Restart on a STOPPED machine means start.
    restarted = api.post(
        machine["id"] + "/restart", json={"action": ACTION + "restart"}
    )
    assert restarted.status_code == 202
    assert wait_for_job(api, restarted.headers["CIMI-Job-URI"])["status"] == "SUCCESS"
    assert api.get(machine["id"]).json()["state"] == "STARTED"
    api.delete(machine["id"])


ELSEWHERE = "http://elsewhere.example/cimi"


@pytest.mark.parametrize(
    ("template", "words"),
    [
        pytest.param(
            lambda cep, good: {
                **good,
                "machineConfig": {"href": href_of(cep["machineConfigs"], "no-size")},
            },
            "no-size",
            id="unknown-config",
        ),
        pytest.param(
            lambda cep, good: {
                **good,
                "machineImage": {"href": href_of(cep["machineImages"], "no-image")},
            },
            "no-image",
            id="unknown-image",
        ),
        pytest.param(
            lambda cep, good: {
                **good,
                "machineImage": {"href": f"{ELSEWHERE}/machine_images/x"},
            },
            "machineImage",
            id="foreign-image",
        ),
        pytest.param(
            lambda cep, good: {"href": f"{ELSEWHERE}/machine_templates/1"},
            "machineTemplate",
            id="foreign-template",
        ),
        pytest.param(
            lambda cep, good: {"href": href_of(cep["machineTemplates"], "gone")},
            "gone",
            id="missing-template",
        ),
        pytest.param(
            lambda cep, good: {"machineImage": good["machineImage"]},
            "machineConfig",
            id="no-config",
        ),
        pytest.param(
            lambda cep, good: {**good, "userData": "not base64!"},
            "userData",
            id="bad-user-data",
        ),
        pytest.param(
            lambda cep, good: {**good, "machineConfig": {"cpu": 99, "memory": 1}},
            "cpu 99",
            id="config-by-value-unmatched",
        ),
    ],
)
def test_bad_machine_create_is_400(cloud, api, template, words):
    cep = entry_point(cloud, api)
    good = {
        "machineConfig": {"href": href_of(cep["machineConfigs"], cloud.config)},
        "machineImage": {"href": href_of(cep["machineImages"], cloud.image)},
    }

    response = api.post(
        cep["machines"]["href"], json={"machineTemplate": template(cep, good)}
    )

    assert response.status_code == 400, response.text
    assert words in response.json()["message"]


def test_jobs_are_listed_newest_first(cloud, api):
    cep = entry_point(cloud, api)
    machine = create_machine(cloud, api, cep)
    first = act(api, machine, "stop").headers["CIMI-Job-URI"]
    wait_for_job(api, first)
    second = act(api, api.get(machine["id"]).json(), "start").headers["CIMI-Job-URI"]
    wait_for_job(api, second)

    jobs = api.get(cep["jobs"]["href"]).json()["jobs"]

    ids = [job["id"] for job in jobs]
    assert ids.index(second) < ids.index(first)
    api.delete(machine["id"])


def test_user_data_key_and_config_by_value(cloud, api):
    cep = entry_point(cloud, api)
    config = api.get(href_of(cep["machineConfigs"], cloud.config)).json()
    key = f"{cep['baseURI']}credentials/test-key"
    if "credentials" in cep and api.get(key).status_code == 404:
        # A cloud emptied by an earlier test (moto's reset) lacks the key.
        imported = api.post(
            cep["credentials"]["href"],
            json={"name": "test-key", "credentialTemplate": {"key": PUBLIC_KEY}},
        )
        assert imported.status_code == 201, imported.text

    machine = create_machine(
        cloud,
        api,
        cep,
        machineConfig={"cpu": config["cpu"], "memory": config["memory"]},
        userData="IyEvYmluL3NoCmVjaG8gaGkK",
        credential={"href": key},
    )

    assert machine["state"] == "STARTED"
    assert machine["cpu"] == config["cpu"]
    assert machine["memory"] == config["memory"]
    api.delete(machine["id"])


# What each action leaves a STARTED machine in, and how it gets back.
SETTLES = {
    "stop": ("STOPPED", "start"),
    "pause": ("PAUSED", "start"),
    "suspend": ("SUSPENDED", "start"),
    "restart": ("STARTED", None),
}


def wait_state(api: requests.Session, url: str, state: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while True:
        machine = api.get(url).json()
        if machine["state"] == state or time.monotonic() > deadline:
            return machine
        time.sleep(0.2)


def test_every_advertised_action_works(cloud, api):
    cep = entry_point(cloud, api)
    metadata = api.get(cep["resourceMetadata"]["href"]).json()
    machine_metadata = next(
        m for m in metadata["resourceMetadata"] if m["name"] == "Machine"
    )
    advertised = {a["name"] for a in machine_metadata["actions"]}
    machine = create_machine(cloud, api, cep)
    assert {"start", "stop", "restart"} <= advertised
    # What a STARTED machine offers is what the cloud advertises, start aside.
    assert rels(machine) - {"edit", "delete"} == advertised - {"start"}

    for action, (settled, back) in SETTLES.items():
        if action not in advertised:
            continue
        done = act(api, machine, action)
        assert done.status_code == 202, (action, done.text)
        job = wait_for_job(api, done.headers["CIMI-Job-URI"], timeout=30)
        assert job["status"] == "SUCCESS", (action, job)
        machine = wait_state(api, machine["id"], settled)
        assert machine["state"] == settled, action
        if back:
            again = act(api, machine, back)
            assert again.status_code == 202, (back, again.text)
            wait_for_job(api, again.headers["CIMI-Job-URI"], timeout=30)
            machine = wait_state(api, machine["id"], "STARTED")
            assert machine["state"] == "STARTED", f"{back} after {action}"
    api.delete(machine["id"])


def test_queries_and_conditional_reads(cloud, api):
    cep = entry_point(cloud, api)
    machine = create_machine(cloud, api, cep)
    try:
        found = api.get(
            cep["machines"]["href"],
            params={"$filter": "name='lifecycle' and state='STARTED'"},
        ).json()
        assert machine["id"] in [m["id"] for m in found["machines"]]
        assert all(m["name"] == "lifecycle" for m in found["machines"])
        none = api.get(cep["machines"]["href"], params={"$filter": "cpu > 100000"})
        assert (none.status_code, none.json()["count"]) == (200, 0)
        bad = api.get(cep["machines"]["href"], params={"$filter": "cpu = 'x'"})
        assert bad.status_code == 400 and "position" in bad.json()["message"]
        ordered = api.get(
            cep["machineConfigs"]["href"],
            params={"$orderby": "memory:desc", "$select": "memory"},
        ).json()["machineConfigurations"]
        memories = [c["memory"] for c in ordered]
        assert memories == sorted(memories, reverse=True)

        # STARTED, its job done: nothing moves it between the two reads.
        tag = api.get(machine["id"]).headers["ETag"]
        unchanged = api.get(machine["id"], headers={"If-None-Match": tag})
        assert (unchanged.status_code, unchanged.content) == (304, b"")
        stale = api.put(
            machine["id"], json={"name": "x"}, headers={"If-Match": '"stale"'}
        )
        assert stale.status_code == 412
    finally:
        api.delete(machine["id"])


def test_unknown_ids_and_refused_credentials(cloud, api, request):
    cep = entry_point(cloud, api)
    for key in ("machines", "machineImages", "machineConfigs"):
        missing = api.get(href_of(cep[key], "no-such-thing"))
        assert missing.status_code == 404, (key, missing.text)
        assert missing.json()["code"] == 404
    if cloud.name == "ec2":
        # moto takes any key unless told to check signatures, as AWS does.
        request.getfixturevalue("moto_refusing")

    refused = requests.get(
        cep["machines"]["href"], auth=(cloud.auth[0], "wrong-secret"), headers=JSON
    )
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize("driver", ["ec2", "openstack"])
def test_a_cloud_that_is_down_is_a_502(driver, tmp_path):
    """The mock cannot be down; a real cloud's endpoint that nobody answers is
    a 502 naming the cloud, never a 500 or a hang."""
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    table = {
        "ec2": f'region = "us-east-1"\nendpoint = "{dead}"\n',
        "openstack": f'auth_url = "{dead}/v3"\nproject = "admin"\n',
    }[driver]
    config = tmp_path / "down.toml"
    config.write_text(
        f'[store]\npath = "{tmp_path / "s.sqlite3"}"\n'
        f'[providers.down]\ndriver = "{driver}"\nmount = "/cimi"\ntimeout = 5\n' + table
    )
    gateway = Gateway(config).start()
    try:
        answer = requests.get(
            f"{gateway.url}/cimi/machines", auth=("user", "secret"), headers=JSON
        )
    finally:
        gateway.stop()

    assert answer.status_code in (502, 504), answer.text
    assert answer.json()["code"] == answer.status_code
    assert "cloud" in answer.json()["message"]


def test_the_seeds_image_exchanges(cloud, api):
    """The seed page's exchanges on any cloud: list and read images in XML, a
    capture by POST of a MachineImage naming a machine, its job, the delete."""
    cep = entry_point(cloud, api)
    xml = {"Accept": "application/xml"}
    listed = api.get(cep["machineImages"]["href"], headers=xml)
    assert listed.status_code == 200
    assert listed.headers["Content-Type"] == "application/xml"
    root = etree.fromstring(listed.content)
    # The seed's shape: a Collection root, its members MachineImage elements.
    assert etree.QName(root).localname == "Collection"
    assert root.get("resourceURI") == f"{NS}/MachineImageCollection"
    members = root.findall(f"{{{NS}}}MachineImage")
    # EC2 lists only the account's own AMIs: none before a capture.
    assert int(root.findtext(f"{{{NS}}}count")) == len(members)
    one = api.get(href_of(cep["machineImages"], cloud.image), headers=xml)
    assert etree.fromstring(one.content).findtext(f"{{{NS}}}state") == "AVAILABLE"

    machine = create_machine(cloud, api, cep)
    body = f"""<MachineImage xmlns="{NS}">
  <name>seed-{cloud.name}-{int(time.time())}</name>
  <description>my new machine_image</description>
  <type>IMAGE</type>
  <imageLocation>{machine["id"]}</imageLocation>
</MachineImage>"""
    try:
        created = api.post(
            cep["machineImages"]["href"],
            data=body,
            headers={**xml, "Content-Type": "application/xml"},
        )
        assert created.status_code == 201, created.text
        image = etree.fromstring(created.content)
        assert image.findtext(f"{{{NS}}}id") == created.headers["Location"]
        assert image.findtext(f"{{{NS}}}description") == "my new machine_image"
        job = wait_for_job(api, created.headers["CIMI-Job-URI"], timeout=30)
        assert job["status"] == "SUCCESS", job
        assert api.get(created.headers["Location"]).json()["state"] == "AVAILABLE"

        deleted = api.delete(created.headers["Location"], headers=xml)
        assert (deleted.status_code, deleted.content) == (200, b"")
        assert api.get(created.headers["Location"]).status_code == 404
    finally:
        api.delete(machine["id"])
