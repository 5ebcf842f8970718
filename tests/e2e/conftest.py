"""End-to-end fixtures: real gunicorn gateways on 127.0.0.1, real HTTP clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.gunicorn import Gateway

MOCK_AUTH = ("mockuser", "mockpassword")


def mock_config(folder: Path) -> Path:
    path = folder / "mock.toml"
    path.write_text(
        f"""
[store]
path = "{folder / "store.sqlite3"}"

[providers.mock]
driver = "mock"
mount = "/cimi"
"""
    )
    return path


@pytest.fixture(scope="session")
def mock_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway on the mock cloud, shared by the tests that do not restart it."""
    gateway = Gateway(mock_config(tmp_path_factory.mktemp("mock"))).start()
    yield gateway
    gateway.stop()


@pytest.fixture
def client() -> Iterator[requests.Session]:
    """An HTTP client with the mock cloud's credentials."""
    with requests.Session() as session:
        session.auth = MOCK_AUTH
        yield session
