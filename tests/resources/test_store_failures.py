"""A store that does not answer: a 503 the client may retry, unless the cloud
already acted for the request; counted; never a 500 with a traceback."""

from __future__ import annotations

import sqlite3

import falcon.testing
import pytest
from prometheus_client import REGISTRY

from gateway import config
from gateway.app import create_app
from gateway.jobs import JOB
from gateway.store import Store
from tests.resources.conftest import AUTH

JSON = {**AUTH, "Accept": "application/json"}
BASE = "http://falconframework.org/cimi"
MACHINE = {
    "name": "made-then-lost",
    "machineTemplate": {
        "machineConfig": {"href": f"{BASE}/machine_configurations/m1-small"},
        "machineImage": {"href": f"{BASE}/machine_images/img1"},
    },
}


@pytest.fixture
def app(tmp_path) -> tuple[falcon.testing.TestClient, Store]:
    loaded = config.parse(
        f'[store]\npath = "{tmp_path}/s.sqlite3"\n'
        '[providers.mock]\ndriver = "mock"\nmount = "/cimi"\ndelay = 0\n'
    )
    store = Store(loaded.store_url)
    return falcon.testing.TestClient(create_app(loaded, store=store)), store


def locked(*args, **kwargs):
    raise sqlite3.OperationalError("database is locked")


def store_errors() -> float:
    return REGISTRY.get_sample_value("cimi_gateway_store_errors_total") or 0.0


def test_a_read_the_store_fails_is_a_503_to_retry(app, monkeypatch):
    client, store = app
    assert (
        client.simulate_get("/cimi/machine_templates", headers=JSON).status_code == 200
    )
    before = store_errors()
    monkeypatch.setattr(store, "page", locked)
    monkeypatch.setattr(store, "list", locked)

    answer = client.simulate_get("/cimi/machine_templates", headers=JSON)

    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    assert answer.json["message"] == "the gateway's store does not answer"
    assert answer.json["requestId"] == answer.headers["X-Request-Id"]
    assert "locked" not in answer.text
    assert store_errors() == before + 1


def test_a_store_failure_after_the_cloud_acted_is_a_500_not_an_invitation_to_retry(
    app, monkeypatch
):
    client, store = app
    add = store.add

    def add_but_no_jobs(namespace, kind, id, data):
        if kind == JOB:
            raise sqlite3.OperationalError("database is locked")
        return add(namespace, kind, id, data)

    monkeypatch.setattr(store, "add", add_but_no_jobs)

    answer = client.simulate_post("/cimi/machines", headers=JSON, json=MACHINE)

    assert answer.status_code == 500
    assert "Retry-After" not in answer.headers
    assert "look before trying again" in answer.json["message"]
    # The machine was made: a retry would have made a second one.
    monkeypatch.setattr(store, "add", add)
    listing = client.simulate_get("/cimi/machines", headers=JSON).json
    names = [m.get("name") for m in listing.get("machines", [])]
    assert names.count("made-then-lost") == 1

    # The next request starts afresh: a read that fails is a 503 again.
    monkeypatch.setattr(store, "page", locked)
    monkeypatch.setattr(store, "list", locked)
    again = client.simulate_get("/cimi/machine_templates", headers=JSON)
    assert again.status_code == 503
