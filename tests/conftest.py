"""Fixtures shared by every test layer: one moto EC2 server per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.moto import FIXTURE_AMIS
from tests.support.moto import reset_moto
from tests.support.moto import start_moto


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """Yield the ``http://127.0.0.1:PORT`` of a moto server with the test AMIs."""
    server, endpoint = start_moto(FIXTURE_AMIS)
    try:
        yield endpoint
    finally:
        server.stop()


@pytest.fixture
def moto_reset(moto_endpoint: str) -> str:
    """Return the moto endpoint, emptied of everything earlier tests made."""
    reset_moto(moto_endpoint)
    return moto_endpoint
