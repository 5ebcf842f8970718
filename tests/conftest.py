"""Fixtures shared by every test layer: one moto EC2 server per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

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


@pytest.fixture
def moto_refusing(moto_reset: str) -> Iterator[str]:
    """Return the moto endpoint while it checks signatures, as AWS does.

    With moto's IAM authentication on, every key the tests use is unknown
    to it: each call is refused with AuthFailure, as EC2 refuses a bad key.
    """
    requests.post(f"{moto_reset}/moto-api/reset-auth", data="0", timeout=10)
    try:
        yield moto_reset
    finally:
        requests.post(f"{moto_reset}/moto-api/reset-auth", data="inf", timeout=10)
