"""Fixtures shared by every test layer: one moto EC2 server, one real
OpenStack and one PostgreSQL per session, each started when a test first
asks for it; and an empty store on each backend in turn, for every test
that writes to one."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from gateway.store import Store
from gateway.store import url_for_path
from tests.support.moto import FIXTURE_AMIS
from tests.support.moto import reset_moto
from tests.support.moto import start_moto
from tests.support.openstack import OpenStack
from tests.support.openstack import Unavailable
from tests.support.openstack import start_openstack
from tests.support.openstack import stop_openstack
from tests.support.postgres import Unavailable as NoPostgres
from tests.support.postgres import migrated
from tests.support.postgres import new_schema
from tests.support.postgres import start_postgres
from tests.support.postgres import stop_postgres


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


@pytest.fixture(scope="session")
def openstack() -> Iterator[OpenStack]:
    """A real Keystone, Glance, Placement and Nova on 127.0.0.1, stopped by PID.

    Installed on first use into the user's cache directory (about 2.5 min
    cold, 10 s warm); tests skip, naming the reason, where it cannot install.
    """
    try:
        stack = start_openstack(cinder=True)
    except Unavailable as ex:
        pytest.skip(f"no OpenStack test stack: {ex}")
    try:
        yield stack
    finally:
        stop_openstack(stack.state)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Yield the ``postgresql+psycopg://`` URL of a database on a throwaway
    PostgreSQL on 127.0.0.1, stopped by PID at the end of the session.

    Started from the machine's server binaries (about 1.5 s); tests skip,
    naming what is missing, where there are none or it does not start.
    """
    try:
        server = start_postgres()
    except NoPostgres as ex:
        pytest.skip(f"no PostgreSQL test server: {ex}")
    try:
        yield server.url()
    finally:
        stop_postgres(server)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """Return the URL of a database without records, of each backend in turn.

    On PostgreSQL a schema of its own per test (a new database costs a few
    hundred milliseconds, a schema one), migrated, as the operator does for a
    server; a new SQLite file is left as it is, as a store migrates its own.
    """
    if request.param == "sqlite":
        return url_for_path(str(tmp_path / "nested" / "store.sqlite3"))
    return migrated(new_schema(request.getfixturevalue("postgres_url")))


@pytest.fixture
def open_store(store_url) -> Iterator[Callable[..., Store]]:
    """Return a maker of stores on ``store_url`` (several gateways' own),
    each closed after the test, so PostgreSQL's connections do not pile up."""
    opened: list[Store] = []

    def make(**options: Any) -> Store:
        opened.append(Store(store_url, **options))
        return opened[-1]

    yield make
    for store in opened:
        store.close()
