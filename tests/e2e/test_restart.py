"""What the mock cloud holds survives a restart of the gateway."""

from __future__ import annotations

import requests

from tests.e2e.conftest import MOCK_AUTH
from tests.e2e.conftest import mock_config
from tests.e2e.gunicorn import Gateway

JSON = {"Accept": "application/json"}


def test_captured_image_survives_a_restart(tmp_path):
    gateway = Gateway(mock_config(tmp_path)).start()
    try:
        created = requests.post(
            f"{gateway.url}/cimi/machine_images",
            json={"name": "kept", "description": "survivor", "imageLocation": "inst0"},
            headers=JSON,
            auth=MOCK_AUTH,
        )
        assert created.status_code == 201
        removed = requests.delete(
            f"{gateway.url}/cimi/machine_images/img2", auth=MOCK_AUTH
        )
        assert removed.status_code == 200
    finally:
        gateway.stop()

    gateway.start()
    try:
        kept = requests.get(
            f"{gateway.url}/cimi/machine_images/kept", headers=JSON, auth=MOCK_AUTH
        )
        assert kept.status_code == 200
        assert kept.json()["description"] == "survivor"
        assert kept.json()["created"] == created.json()["created"]
        # A deleted seed image is not brought back by the restart's seeding.
        gone = requests.get(f"{gateway.url}/cimi/machine_images/img2", auth=MOCK_AUTH)
        assert gone.status_code == 404
    finally:
        gateway.stop()
