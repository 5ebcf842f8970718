"""Rendered configuration lists are served again, per credentials and media type."""

from __future__ import annotations

from tests.resources.conftest import AUTH
from tests.resources.conftest import app_with
from tests.resources.conftest import unvalidated


def test_configurations_render_once_per_url_and_media(tmp_path, monkeypatch):
    client = app_with(None, tmp_path)
    provider = client.app._router.find("/cimi/machine_configurations")[0].provider
    calls = []
    real = provider.list_machine_configurations

    def counted(creds):
        calls.append(creds)
        return real(creds)

    monkeypatch.setattr(provider, "list_machine_configurations", counted)
    xml = {**AUTH, "Accept": "application/xml"}
    json = {**AUTH, "Accept": "application/json"}

    first = client.simulate_get("/cimi/machine_configurations", headers=xml)
    again = client.simulate_get("/cimi/machine_configurations", headers=xml)
    as_json = client.simulate_get("/cimi/machine_configurations", headers=json)
    paged = client.simulate_get(
        "/cimi/machine_configurations", headers=xml, query_string="$first=2"
    )
    anonymous = client.simulate_get("/cimi/machine_configurations")

    assert len(calls) == 3  # xml, json, the page: the repeat came from the cache
    assert again.content == first.content
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Content-Type"] == "application/xml"
    assert as_json.headers["Content-Type"] == "application/json"
    assert as_json.json["count"] == 3
    assert paged.content != first.content
    assert anonymous.status_code == 401


def test_machines_are_never_cached(tmp_path):
    client = app_with(None, tmp_path)
    json = {**AUTH, "Accept": "application/json"}
    before = client.simulate_get("/cimi/machine_images", headers=json).json["count"]

    status, _, _ = unvalidated(client, "DELETE", "/cimi/machine_images/img3", AUTH)

    assert status.startswith("200")

    after = client.simulate_get("/cimi/machine_images", headers=json).json["count"]
    assert after == before - 1
