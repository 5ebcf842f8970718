"""``[server] public_url``: hrefs name it, and other hosts are refused."""

from __future__ import annotations

import falcon.testing
import pytest

from gateway import config
from gateway.app import create_app
from tests.resources.conftest import AUTH

JSON = {**AUTH, "Accept": "application/json"}


@pytest.fixture
def public_client(tmp_path) -> falcon.testing.TestClient:
    loaded = config.parse(
        '[server]\npublic_url = "https://CIMI.example.com/"\n'
        f'[store]\npath = "{tmp_path}/s.sqlite3"\n'
        '[providers.mock]\ndriver = "mock"\nmount = "/cimi"\ndelay = 0\n'
    )
    return falcon.testing.TestClient(create_app(loaded))


@pytest.mark.parametrize("host", ["cimi.example.com", "CIMI.example.com:443"])
def test_hrefs_and_locations_use_the_public_url(public_client, host):
    headers = {**JSON, "Host": host}

    machine = public_client.simulate_get("/cimi/machines/inst1", headers=headers)
    captured = public_client.simulate_post(
        "/cimi/machine_images",
        json={
            "name": "pub",
            "imageLocation": "https://cimi.example.com/cimi/machines/inst1",
        },
        headers=headers,
    )

    assert machine.status_code == 200
    assert machine.json["id"] == "https://cimi.example.com/cimi/machines/inst1"
    assert all(
        op["href"].startswith("https://cimi.example.com/cimi/")
        for op in machine.json["operations"]
    )
    assert captured.status_code == 201, captured.text
    assert captured.headers["Location"] == (
        "https://cimi.example.com/cimi/machine_images/pub"
    )


@pytest.mark.parametrize(
    "host", ["evil.example.com", "cimi.example.com:8443", "127.0.0.1:8000"]
)
def test_other_hosts_are_400(public_client, host):
    response = public_client.simulate_get(
        "/cimi/machines", headers={**JSON, "Host": host}
    )

    assert response.status_code == 400
    assert "https://cimi.example.com only" in response.json["message"]


def test_health_answers_whatever_the_host(public_client):
    response = public_client.simulate_get("/healthz", headers={"Host": "10.0.0.5:8000"})

    assert response.status_code == 200


@pytest.mark.parametrize(
    "value",
    [
        "cimi.example.com",
        "ftp://x",
        "https://x/path",
        "https://x?q",
        "http://[",
        "http://x:99999",
    ],
)
def test_a_public_url_that_is_not_scheme_and_host_stops_start_up(value):
    with pytest.raises(config.ConfigError, match=r"server\.public_url: ('|give)"):
        config.parse(
            f'[server]\npublic_url = "{value}"\n'
            '[providers.mock]\ndriver = "mock"\nmount = "/cimi"\n'
        )
