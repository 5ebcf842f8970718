"""A target deleted while its job runs: the job is CANCELLED, not FAILED."""

from __future__ import annotations

from tests.resources.conftest import AUTH
from tests.resources.conftest import unvalidated

JSON = {**AUTH, "Accept": "application/json"}
ORIGIN = "http://falconframework.org"


def job_of(client, response) -> dict:
    path = response.headers["CIMI-Job-URI"].removeprefix(ORIGIN)
    return client.simulate_get(path, headers=JSON).json


def test_deleting_an_image_while_it_is_captured_cancels_the_capture(mock_client):
    # The mock's default delay (2 s): the image is CREATING when deleted.
    captured = mock_client.simulate_post(
        "/cimi/machine_images",
        json={"name": "brief", "imageLocation": "inst1"},
        headers=JSON,
    )
    assert captured.json["state"] == "CREATING"

    status, _, _ = unvalidated(
        mock_client, "DELETE", "/cimi/machine_images/brief", AUTH
    )

    assert status.startswith("200")
    job = job_of(mock_client, captured)
    assert (job["status"], job["returnCode"]) == ("CANCELLED", 0)
    assert job["statusMessage"] == "the image was deleted before it was ready"


def test_deleting_a_machine_while_it_stops_cancels_the_stop(mock_client):
    stop = mock_client.simulate_post(
        "/cimi/machines/inst1/stop",
        json={"action": "http://schemas.dmtf.org/cimi/1/action/stop"},
        headers=JSON,
    )
    assert stop.status_code == 202 and job_of(mock_client, stop)["status"] == "RUNNING"

    deleted = mock_client.simulate_delete("/cimi/machines/inst1", headers=JSON)

    assert deleted.status_code == 202
    assert job_of(mock_client, stop)["status"] == "CANCELLED"
    assert job_of(mock_client, deleted)["status"] == "RUNNING"
