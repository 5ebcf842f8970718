"""Responders in-process: ``falcon.testing`` against the app, fake or mock clouds."""

from __future__ import annotations

import base64

import falcon.testing
import pytest

from gateway import config
from gateway.app import create_app
from gateway.store import Store

AUTH = {"Authorization": "Basic " + base64.b64encode(b"mockuser:mockpassword").decode()}


def app_with(providers: dict | None, tmp_path) -> falcon.testing.TestClient:
    """Return a client of an app serving ``providers`` (default: the mock) at /cimi."""
    loaded = config.parse(
        f'[store]\npath = "{tmp_path}/s.sqlite3"\n'
        '[providers.mock]\ndriver = "mock"\nmount = "/cimi"\n'
    )
    store = Store(loaded.store_url)
    return falcon.testing.TestClient(
        create_app(loaded, providers=providers, store=store)
    )


@pytest.fixture
def mock_client(tmp_path) -> falcon.testing.TestClient:
    return app_with(None, tmp_path)
