"""End-to-end fixtures: real gunicorn gateways on 127.0.0.1, real HTTP clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.gunicorn import Gateway

MOCK_AUTH = ("mockuser", "mockpassword")


def mock_config(folder: Path, *, delay: float = 0) -> Path:
    """Write a config for the mock cloud whose changes take ``delay`` seconds."""
    path = folder / "mock.toml"
    path.write_text(
        f"""
[store]
path = "{folder / "store.sqlite3"}"

[providers.mock]
driver = "mock"
mount = "/cimi"
delay = {delay}
"""
    )
    return path


@pytest.fixture(scope="session")
def mock_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway on an instant mock cloud, shared by tests that do not restart it.

    The seed's exchanges show a captured image AVAILABLE at once: with no
    delay, the mock answers exactly so.
    """
    gateway = Gateway(mock_config(tmp_path_factory.mktemp("mock"))).start()
    yield gateway
    gateway.stop()


@pytest.fixture(scope="session")
def slow_mock_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway on a mock cloud whose changes take a second, like a real one."""
    folder = tmp_path_factory.mktemp("slow-mock")
    gateway = Gateway(mock_config(folder, delay=1)).start()
    yield gateway
    gateway.stop()


@pytest.fixture
def client() -> Iterator[requests.Session]:
    """An HTTP client with the mock cloud's credentials."""
    with requests.Session() as session:
        session.auth = MOCK_AUTH
        yield session
