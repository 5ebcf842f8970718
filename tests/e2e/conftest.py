"""End-to-end fixtures: real gunicorn gateways on 127.0.0.1, real HTTP clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from gateway.auth import hash_password
from tests.e2e.gunicorn import Gateway
from tests.e2e.gunicorn import start_instances
from tests.e2e.scenario import Cloud
from tests.support.moto import FIXTURE_AMI
from tests.support.moto import KEY
from tests.support.moto import SECRET
from tests.support.openstack import gateway_table
from tests.support.openstack import image_id
from tests.support.openstack import libcloud_driver
from tests.support.postgres import new_database

MOCK_AUTH = ("mockuser", "mockpassword")
JSON = {"Accept": "application/json"}


def mock_config(
    folder: Path, *, delay: float = 0, store_url: str | None = None
) -> Path:
    """Write a config for the mock cloud whose changes take ``delay`` seconds,
    its store a SQLite file in ``folder`` unless ``store_url`` names one."""
    path = folder / "mock.toml"
    store = (
        f'url = "{store_url}"' if store_url else f'path = "{folder / "store.sqlite3"}"'
    )
    path.write_text(
        f"""
[store]
{store}

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


def ec2_config(
    folder: Path, endpoint: str, *, timeout: int = 30, static: bool = False
) -> Path:
    """Write an ec2 config; ``static``: gateway user KEY, cloud keys in the file."""
    auth = ""
    cloud_keys = ""
    if static:
        hashed = hash_password(SECRET, iterations=1000)
        auth = f'[auth]\nmode = "static"\n[auth.users]\n{KEY} = "{hashed}"\n'
        cloud_keys = f'key = "{KEY}"\nsecret = "{SECRET}"\n'
    path = folder / "ec2.toml"
    path.write_text(
        f"""
[store]
path = "{folder / "store.sqlite3"}"
{auth}
[providers.ec2]
driver = "ec2"
mount = "/cimi"
region = "us-east-1"
endpoint = "{endpoint}"
timeout = {timeout}
{cloud_keys}"""
    )
    return path


@pytest.fixture(scope="module")
def ec2_gateway(moto_endpoint, tmp_path_factory) -> Iterator[Gateway]:
    folder = tmp_path_factory.mktemp("ec2")
    gateway = Gateway(ec2_config(folder, moto_endpoint)).start()
    yield gateway
    gateway.stop()


@pytest.fixture
def ec2_client() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.auth = (KEY, SECRET)
        session.headers.update(JSON)
        yield session


# -- the scenario suite's clouds ---------------------------------------------------


@pytest.fixture(scope="session")
def scenario_ec2_gateway(moto_endpoint, tmp_path_factory) -> Iterator[Gateway]:
    gateway = Gateway(ec2_config(tmp_path_factory.mktemp("ec2s"), moto_endpoint))
    yield gateway.start()
    gateway.stop()


@pytest.fixture(scope="session")
def scenario_openstack_gateway(openstack, tmp_path_factory) -> Iterator[Gateway]:
    folder = tmp_path_factory.mktemp("openstack")
    config = folder / "openstack.toml"
    store = folder / "store.sqlite3"
    config.write_text(f'[store]\npath = "{store}"\n{gateway_table(openstack)}')
    # The key pair the scenarios name (moto takes any name; Nova wants one).
    driver = libcloud_driver(openstack)
    if "test-key" not in {pair.name for pair in driver.list_key_pairs()}:
        driver.create_key_pair("test-key")
    gateway = Gateway(config)
    yield gateway.start()
    gateway.stop()


@pytest.fixture(scope="session")
def mock_postgres_gateway(postgres_url, tmp_path_factory) -> Iterator[Gateway]:
    """The instant mock cloud again, its state (and the gateway's) on PostgreSQL."""
    folder = tmp_path_factory.mktemp("mock-postgres")
    configs = [mock_config(folder, store_url=new_database(postgres_url))]
    [gateway] = start_instances(configs)
    yield gateway
    gateway.stop()


@pytest.fixture(params=["mock", "mock-postgres", "ec2", "openstack"])
def cloud(request, mock_gateway) -> Cloud:
    """Each scenario on every cloud: the measure of a provider.

    ``mock-postgres`` runs each once more on a store on PostgreSQL: every
    write of the mock's state and of the gateway's records, on the other
    backend (about 6 s in all).
    """
    if request.param.startswith("mock"):
        gateway = mock_gateway
        if request.param == "mock-postgres":
            gateway = request.getfixturevalue("mock_postgres_gateway")
        return Cloud(request.param, gateway, MOCK_AUTH, "m1-small", "img2")
    if request.param == "openstack":
        stack = request.getfixturevalue("openstack")
        return Cloud(
            "openstack",
            request.getfixturevalue("scenario_openstack_gateway"),
            (stack.username, stack.password),
            "1",  # m1.tiny
            image_id(stack),
        )
    return Cloud(
        "ec2",
        request.getfixturevalue("scenario_ec2_gateway"),
        (KEY, SECRET),
        "t3.micro",
        FIXTURE_AMI,
    )


@pytest.fixture
def api(cloud) -> Iterator[requests.Session]:
    with cloud.client() as session:
        yield session
