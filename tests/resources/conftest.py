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


def unvalidated(
    client: falcon.testing.TestClient, method: str, path: str, headers: dict
) -> tuple[str, dict[str, str], bytes]:
    """Call the app without ``wsgiref.validate``, which the test client applies.

    That validator still insists on a Content-Type for a 200 without a body
    (RFC 2616's reading); RFC 9110 asks for none, which a DELETE now sends.
    """
    environ = falcon.testing.create_environ(path, method=method, headers=headers)
    result = falcon.testing.StartResponseMock()
    body = b"".join(client.app(environ, result))
    return result.status, {k.lower(): v for k, v in result.headers}, body
