"""The capture scenario on EC2, over HTTP, through libcloud's real driver to moto."""

from __future__ import annotations

import socket
import threading

import pytest
import requests

from tests.e2e.conftest import ec2_config
from tests.e2e.gunicorn import Gateway
from tests.e2e.gunicorn import free_port
from tests.support.moto import FIXTURE_AMI
from tests.support.moto import KEY
from tests.support.moto import SECRET
from tests.support.moto import describe
from tests.support.moto import run_instance

NS = "http://schemas.dmtf.org/cimi/1"
JSON = {"Accept": "application/json"}
CAPTURE = f"{NS}/action/capture"


def test_list_capture_list_delete(moto_reset, ec2_gateway, ec2_client):
    base = ec2_gateway.url
    machine_id = run_instance(moto_reset, name="web-1")

    machines = ec2_client.get(f"{base}/cimi/machines")
    assert machines.status_code == 200
    by_id = {m["id"]: m for m in machines.json()["machines"]}
    machine = by_id[f"{base}/cimi/machines/{machine_id}"]
    assert machine["name"] == "web-1"
    assert machine["state"] == "STARTED"
    assert machine["cpu"] == 2 and machine["memory"] == 1024 * 1024
    capture = next(op for op in machine["operations"] if op["rel"] == CAPTURE)
    assert capture["href"] == f"{base}/cimi/machine_images"
    before = ec2_client.get(f"{base}/cimi/machine_images").json()

    created = ec2_client.post(
        capture["href"],
        data=f"""<MachineImageCreate xmlns="{NS}">
                   <name> web-1-golden </name>
                   <description>captured in a test</description>
                   <type>IMAGE</type>
                   <imageLocation>{machine["id"]}</imageLocation>
                 </MachineImageCreate>""",
        headers={"Content-Type": "application/xml"},
    )

    assert created.status_code == 201, created.text
    image = created.json()
    assert image["id"] == created.headers["Location"]
    ami = image["id"].rsplit("/", 1)[-1]
    assert ami.startswith("ami-")
    assert image["name"] == "web-1-golden"
    assert image["description"] == "captured in a test"
    assert image["state"] == "AVAILABLE"
    assert image["imageLocation"] == f"ec2://{ami}"
    listed = ec2_client.get(f"{base}/cimi/machine_images").json()
    assert listed["count"] == before["count"] + 1
    assert image["id"] in [i["id"] for i in listed["machineImages"]]
    assert ec2_client.get(image["id"]).json()["name"] == "web-1-golden"

    assert ec2_client.delete(image["id"]).status_code == 200

    assert ec2_client.get(image["id"]).status_code == 404
    after = ec2_client.get(f"{base}/cimi/machine_images").json()
    assert image["id"] not in [i["id"] for i in after["machineImages"]]


def test_any_image_can_be_read_though_not_listed(moto_reset, ec2_gateway, ec2_client):
    response = ec2_client.get(f"{ec2_gateway.url}/cimi/machine_images/{FIXTURE_AMI}")

    assert response.status_code == 200
    assert response.json()["imageLocation"] == f"ec2://{FIXTURE_AMI}"
    listed = ec2_client.get(f"{ec2_gateway.url}/cimi/machine_images").json()
    assert response.json()["id"] not in [i["id"] for i in listed["machineImages"]]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/cimi/machine_images/ami-00000000000000000", 404),
        ("/cimi/machines/i-00000000000000000", 404),
    ],
    ids=["image", "machine"],
)
def test_unknown_ids_are_404(moto_reset, ec2_gateway, ec2_client, path, status):
    response = ec2_client.get(ec2_gateway.url + path)

    assert response.status_code == status
    assert response.json()["code"] == status


def test_capture_of_an_unknown_machine_is_400(moto_reset, ec2_gateway, ec2_client):
    response = ec2_client.post(
        f"{ec2_gateway.url}/cimi/machine_images",
        json={"name": "x", "imageLocation": "i-00000000000000000"},
    )

    assert response.status_code == 400
    assert "i-00000000000000000" in response.json()["message"]


def test_cloud_unreachable_is_502(tmp_path, ec2_client):
    closed = f"http://127.0.0.1:{free_port()}"
    gateway = Gateway(ec2_config(tmp_path, closed), workers=1).start()
    try:
        response = ec2_client.get(f"{gateway.url}/cimi/machines")
    finally:
        gateway.stop()

    assert response.status_code == 502
    assert SECRET not in response.text and KEY not in response.text


def test_failed_cloud_call_leaves_a_failed_job(tmp_path, ec2_client):
    # Static auth: no cloud call judges the client, so the delete itself
    # is what fails on the dead cloud.
    closed = f"http://127.0.0.1:{free_port()}"
    gateway = Gateway(ec2_config(tmp_path, closed, static=True), workers=1).start()
    try:
        response = ec2_client.delete(f"{gateway.url}/cimi/machines/i-0123456789abcdef0")
        job = ec2_client.get(response.headers["CIMI-Job-URI"])
    finally:
        gateway.stop()

    assert response.status_code == 502
    assert job.status_code == 200
    body = job.json()
    assert (body["status"], body["returnCode"]) == ("FAILED", 502)
    assert "cannot be reached" in body["statusMessage"]
    assert body["targetResource"]["href"].endswith("/machines/i-0123456789abcdef0")


def test_cloud_silent_is_504(tmp_path, ec2_client):
    # A listener that accepts and never answers.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        silent.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(silent.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
    gateway = Gateway(ec2_config(tmp_path, endpoint, timeout=1), workers=1).start()
    try:
        response = ec2_client.get(f"{gateway.url}/cimi/machine_images", timeout=30)
    finally:
        gateway.stop()
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        silent.close()

    assert response.status_code == 504
    assert response.json()["code"] == 504


# -- E5: a tenant's records open only to credentials EC2 accepts ------------------


@pytest.mark.parametrize(
    "path",
    [
        "/cimi/machine_configurations",
        "/cimi/machine_templates",
        "/cimi/jobs",
        "/cimi/machine_templates/anything",
    ],
)
def test_credentials_ec2_refuses_open_nothing(moto_refusing, ec2_gateway, path):
    # None of these paths asks EC2 anything of its own.
    refused = ("AKIAREFUSED0000000000", f"not-the-secret-{path}")

    response = requests.get(ec2_gateway.url + path, auth=refused, headers=JSON)

    assert response.status_code == 401
    assert response.json()["message"] == "the cloud refused these credentials"
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_a_refused_key_cannot_create_templates(moto_refusing, ec2_gateway):
    response = requests.post(
        f"{ec2_gateway.url}/cimi/machine_templates",
        auth=("AKIAREFUSED0000000000", "another-wrong-secret"),
        json={"machineConfig": {"href": "t3.micro"}, "machineImage": {"href": "x"}},
        headers=JSON,
    )

    assert response.status_code == 401


# -- E1: an edit XML cannot carry is refused before anything is written -----------


def test_an_edit_with_a_form_feed_writes_nothing(moto_reset, ec2_gateway, ec2_client):
    machine_id = run_instance(moto_reset, name="clean")
    url = f"{ec2_gateway.url}/cimi/machines/{machine_id}"

    edit = ec2_client.put(
        url,
        data='{"properties": {"k": "x\\u000cy"}}',
        headers={"Content-Type": "application/json"},
    )

    assert edit.status_code == 400
    assert "XML 1.0 cannot carry" in edit.json()["message"]
    assert describe(moto_reset, machine_id).extra["tags"] == {"Name": "clean"}
    assert ec2_client.get(f"{ec2_gateway.url}/cimi/machines").status_code == 200


# -- S3: logs -------------------------------------------------------------------------


def test_the_log_names_requests_and_cloud_failures_never_credentials(
    tmp_path, ec2_client
):
    from tests.e2e.gunicorn import free_port

    closed = f"http://127.0.0.1:{free_port()}"
    gateway = Gateway(ec2_config(tmp_path, closed), workers=1).start()
    try:
        response = ec2_client.get(
            f"{gateway.url}/cimi/machines", headers={"X-Request-Id": "req-e2e-1"}
        )
    finally:
        gateway.stop()
    log = gateway.log.read_text()

    assert response.status_code == 502
    assert '"GET /cimi/machines HTTP/1.1" 502' in log
    assert "request_id=req-e2e-1" in log
    assert "the cloud cannot be reached (cause: ConnectionError)" in log
    assert KEY not in log and SECRET not in log
