"""Several providers side by side, each under its own mount."""

from __future__ import annotations

import falcon.testing

from gateway import config
from gateway.app import create_app
from tests.resources.conftest import AUTH


def test_two_mounts_serve_their_own_clouds(tmp_path):
    loaded = config.parse(
        f'[store]\npath = "{tmp_path}/s.sqlite3"\n'
        '[providers.one]\ndriver = "mock"\nmount = "/cimi"\n'
        '[providers.two]\ndriver = "mock"\nmount = "/cimi/two"\n'
    )
    client = falcon.testing.TestClient(create_app(loaded))
    json = {**AUTH, "Accept": "application/json"}

    captured = client.simulate_post(
        "/cimi/two/machine_images",
        json={"name": "only_on_two", "imageLocation": "inst1"},
        headers=json,
    )
    one = client.simulate_get("/cimi/cloudEntryPoint", headers=json).json
    two = client.simulate_get("/cimi/two/cloudEntryPoint", headers=json).json

    assert captured.status_code == 201
    assert captured.headers["Location"].endswith("/cimi/two/machine_images/only_on_two")
    assert one["baseURI"].endswith("/cimi/") and two["baseURI"].endswith("/cimi/two/")
    assert two["machineImages"]["href"].endswith("/cimi/two/machine_images")
    two_image = client.simulate_get(
        "/cimi/two/machine_images/only_on_two", headers=AUTH
    )
    assert two_image.status_code == 200
    # The other mount's cloud has its own store namespace.
    assert client.simulate_get("/cimi/machine_images/only_on_two").status_code == 401
    assert (
        client.simulate_get(
            "/cimi/machine_images/only_on_two", headers=AUTH
        ).status_code
        == 404
    )
