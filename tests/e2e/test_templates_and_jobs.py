"""Machine templates kept by the gateway, and jobs that follow a slow cloud."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.e2e.conftest import MOCK_AUTH

NS = "http://schemas.dmtf.org/cimi/1"
JSON = {"Accept": "application/json"}


def template_body(base: str, name: str) -> dict:
    return {
        "name": name,
        "machineConfig": {"href": f"{base}/cimi/machine_configurations/m1-small"},
        "machineImage": {"href": f"{base}/cimi/machine_images/img1"},
    }


def test_concurrent_template_creates_are_all_kept(mock_gateway):
    base = mock_gateway.url
    # The same name every time: templates are told apart by id, not by name.
    names = ["parallel"] * 24

    def create(name: str) -> requests.Response:
        return requests.post(
            f"{base}/cimi/machine_templates",
            json=template_body(base, name),
            headers=JSON,
            auth=MOCK_AUTH,
            timeout=30,
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(create, names))

    assert [r.status_code for r in responses] == [201] * len(names)
    ids = {r.headers["Location"] for r in responses}
    assert len(ids) == len(names)
    listed = requests.get(
        f"{base}/cimi/machine_templates", headers=JSON, auth=MOCK_AUTH
    ).json()
    assert {t["id"] for t in listed["machineTemplates"]} >= ids
    for url in ids:
        requests.delete(url, auth=MOCK_AUTH)


def test_template_read_edit_and_refusals(mock_gateway):
    base = mock_gateway.url
    api = requests.Session()
    api.auth, api.headers["Accept"] = MOCK_AUTH, "application/json"
    created = api.post(
        f"{base}/cimi/machine_templates",
        json={**template_body(base, "editable"), "properties": {"a": "1"}},
    )
    assert created.status_code == 201
    url = created.headers["Location"]
    template = api.get(url).json()
    assert template["machineConfig"] == {
        "href": f"{base}/cimi/machine_configurations/m1-small"
    }
    assert {op["rel"] for op in template["operations"]} == {"edit", "delete"}

    edited = api.put(url, json={"name": "edited", "initialState": "STOPPED"})
    assert edited.status_code == 200
    assert edited.json()["name"] == "edited"
    assert edited.json()["properties"] == {"a": "1"}
    assert (
        api.put(url, json={"id": f"{base}/cimi/machine_templates/x"}).status_code == 400
    )
    assert api.put(url, json={"initialState": "FLYING"}).status_code == 400
    foreign = api.put(
        url,
        json={
            "machineImage": {"href": "http://elsewhere.example/cimi/machine_images/i"}
        },
    )
    assert foreign.status_code == 400
    assert (
        api.put(f"{base}/cimi/machine_templates/nope", json={"name": "x"}).status_code
        == 404
    )
    assert api.delete(url).status_code == 200
    assert api.delete(url).status_code == 404
    incomplete = api.post(f"{base}/cimi/machine_templates", json={"name": "x"})
    assert incomplete.status_code == 400
    assert "machineConfig, machineImage" in incomplete.json()["message"]
    bad_data = api.post(
        f"{base}/cimi/machine_templates",
        json={**template_body(base, "x"), "userData": "%%%"},
    )
    assert bad_data.status_code == 400


def wait_until(check, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_jobs_follow_a_slow_cloud(slow_mock_gateway):
    base = slow_mock_gateway.url
    api = requests.Session()
    api.auth, api.headers["Accept"] = MOCK_AUTH, "application/json"

    created = api.post(
        f"{base}/cimi/machines",
        json={"name": "slow", "machineTemplate": template_body(base, "slow")},
    )
    assert created.status_code == 201
    job_url, machine_url = created.headers["CIMI-Job-URI"], created.headers["Location"]
    assert created.json()["state"] == "CREATING"
    job = api.get(job_url).json()
    assert (job["status"], job["action"]) == ("RUNNING", f"{NS}/action/add")

    wait_until(lambda: api.get(job_url).json()["status"] == "SUCCESS")
    job = api.get(job_url).json()
    assert job["progress"] == 100 and job["returnCode"] == 0
    assert api.get(machine_url).json()["state"] == "STARTED"

    stop = api.post(f"{machine_url}/stop", json={"action": f"{NS}/action/stop"})
    assert stop.status_code == 202
    assert api.get(machine_url).json()["state"] == "STOPPING"
    assert api.get(stop.headers["CIMI-Job-URI"]).json()["status"] == "RUNNING"
    wait_until(lambda: api.get(machine_url).json()["state"] == "STOPPED")
    assert api.get(stop.headers["CIMI-Job-URI"]).json()["status"] == "SUCCESS"

    capture = api.post(
        f"{machine_url}/capture", json={"action": f"{NS}/action/capture"}
    )
    assert capture.status_code == 202
    assert api.get(capture.headers["Location"]).json()["state"] == "CREATING"
    wait_until(
        lambda: api.get(capture.headers["Location"]).json()["state"] == "AVAILABLE"
    )
    assert api.get(capture.headers["CIMI-Job-URI"]).json()["status"] == "SUCCESS"

    deleted = api.delete(machine_url)
    assert deleted.status_code == 202
    assert api.get(machine_url).json()["state"] == "DELETING"
    wait_until(lambda: api.get(machine_url).status_code == 404)
    assert api.get(deleted.headers["CIMI-Job-URI"]).json()["status"] == "SUCCESS"


def test_jobs_are_settled_by_what_follows_them(slow_mock_gateway):
    base = slow_mock_gateway.url
    api = requests.Session()
    api.auth, api.headers["Accept"] = MOCK_AUTH, "application/json"
    created = api.post(
        f"{base}/cimi/machines",
        json={"name": "followed", "machineTemplate": template_body(base, "f")},
    )
    machine_url, create_job = (
        created.headers["Location"],
        created.headers["CIMI-Job-URI"],
    )
    wait_until(lambda: api.get(machine_url).json()["state"] == "STARTED")

    # Nobody read the create job; the stop that follows settles it.
    stop = api.post(f"{machine_url}/stop", json={"action": f"{NS}/action/stop"})
    stop_job = stop.headers["CIMI-Job-URI"]
    wait_until(lambda: api.get(machine_url).json()["state"] == "STOPPED")
    start = api.post(f"{machine_url}/start", json={"action": f"{NS}/action/start"})
    assert start.status_code == 202
    wait_until(lambda: api.get(machine_url).json()["state"] == "STARTED")
    deleted = api.delete(machine_url)
    assert deleted.status_code == 202

    # The stop job is read only now, when the machine is long STARTED again.
    assert api.get(create_job).json()["status"] == "SUCCESS"
    assert api.get(stop_job).json()["status"] == "SUCCESS"
    assert api.get(start.headers["CIMI-Job-URI"]).json()["status"] == "SUCCESS"


def test_the_seeds_capture_leaves_a_job(slow_mock_gateway):
    base = slow_mock_gateway.url
    api = requests.Session()
    api.auth, api.headers["Accept"] = MOCK_AUTH, "application/json"

    created = api.post(
        f"{base}/cimi/machine_images",
        json={"name": "with_job", "imageLocation": f"{base}/cimi/machines/inst1"},
    )

    assert created.status_code == 201
    assert created.json()["state"] == "CREATING"
    job_url = created.headers["CIMI-Job-URI"]
    job = api.get(job_url).json()
    assert (job["status"], job["action"]) == ("RUNNING", f"{NS}/action/capture")
    assert job["targetResource"]["href"] == created.headers["Location"]
    wait_until(lambda: api.get(job_url).json()["status"] == "SUCCESS")
    assert api.delete(created.headers["Location"]).status_code == 200


def test_volume_jobs_follow_a_slow_cloud(slow_mock_gateway):
    """A volume's create, attach, detach and delete each run for the cloud's
    second, then succeed; nobody polls in between but the test."""
    base = slow_mock_gateway.url
    api = requests.Session()
    api.auth, api.headers["Accept"] = MOCK_AUTH, "application/json"

    created = api.post(
        f"{base}/cimi/volumes",
        json={"volumeTemplate": {"volumeConfig": {"capacity": 1024 * 1024}}},
    )
    volume_url, job_url = created.headers["Location"], created.headers["CIMI-Job-URI"]
    assert created.json()["state"] == "CREATING"
    assert api.get(job_url).json()["status"] == "RUNNING"
    wait_until(lambda: api.get(job_url).json()["status"] == "SUCCESS")

    attached = api.post(
        f"{base}/cimi/machines/inst2/volumes", json={"volume": {"href": volume_url}}
    )
    assert attached.status_code == 201, attached.text
    attach_job = attached.headers["CIMI-Job-URI"]
    assert api.get(attach_job).json()["status"] == "RUNNING"
    assert api.delete(attached.headers["Location"]).status_code == 409  # attaching
    wait_until(lambda: api.get(attach_job).json()["status"] == "SUCCESS")

    detached = api.delete(attached.headers["Location"])
    assert detached.status_code == 202, detached.text
    detach_job = detached.headers["CIMI-Job-URI"]
    assert api.get(detach_job).json()["status"] == "RUNNING"
    wait_until(lambda: api.get(detach_job).json()["status"] == "SUCCESS")

    deleted = api.delete(volume_url)
    assert api.get(volume_url).json()["state"] == "DELETING"
    wait_until(
        lambda: api.get(deleted.headers["CIMI-Job-URI"]).json()["status"] == "SUCCESS"
    )
    assert api.get(volume_url).status_code == 404
