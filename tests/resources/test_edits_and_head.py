"""Edits compare echoed read-only values as hrefs; HEAD works wherever GET does."""

from __future__ import annotations

from tests.resources.conftest import AUTH

JSON = {**AUTH, "Accept": "application/json"}


def test_echoed_operations_may_be_relative(mock_client):
    machine = mock_client.simulate_get("/cimi/machines/inst1", headers=JSON).json
    base = "http://falconframework.org/cimi/"
    relative = [
        {"rel": op["rel"], "href": op["href"].removeprefix(base)}
        for op in machine["operations"]
    ]

    echoed = mock_client.simulate_put(
        "/cimi/machines/inst1",
        headers=JSON,
        json={"name": "same ops", "operations": relative},
    )
    changed = mock_client.simulate_put(
        "/cimi/machines/inst1",
        headers=JSON,
        json={"operations": relative[:1]},
    )

    assert echoed.status_code == 200, echoed.text
    assert changed.status_code == 400


def test_head_on_the_mount_root_redirects_like_get(mock_client):
    head = mock_client.simulate_head("/cimi", headers=AUTH)

    assert head.status_code == 301
    assert head.headers["Location"].endswith("/cimi/cloudEntryPoint")
