"""What every scenario (machines, volumes...) shares: the clouds and a client's moves.

A client discovers everything from the entry point and follows only the hrefs
the server hands out, as Deltacloud's CIMI plugfest scenarios did. The
``cloud`` fixture (``tests/e2e/conftest.py``) runs each scenario on the mock
cloud, EC2 (moto) and OpenStack.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests

from tests.e2e.gunicorn import Gateway

NS = "http://schemas.dmtf.org/cimi/1"
ACTION = f"{NS}/action/"
#: an Ed25519 public key nobody holds the private half of.
PUBLIC_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM5yCg0sXDSjASVLnjuzTigyU7tQg5vUh9EpVb+JV3oK"
)


@dataclass
class Cloud:
    """A gateway in front of one cloud, and what a test needs to know of it."""

    name: str
    gateway: Gateway
    auth: tuple[str, str]
    config: str
    image: str

    def client(self) -> requests.Session:
        session = requests.Session()
        session.auth = self.auth
        session.headers["Accept"] = "application/json"
        return session


def entry_point(cloud: Cloud, api: requests.Session) -> dict:
    response = api.get(f"{cloud.gateway.url}/cimi/cloudEntryPoint")
    assert response.status_code == 200
    return response.json()


def href_of(collection: dict, id: str) -> str:
    return f"{collection['href']}/{id}"


def operation(resource: dict, rel: str) -> str:
    for op in resource.get("operations", []):
        if op["rel"] in (rel, ACTION + rel):
            return op["href"]
    raise AssertionError(f"no {rel} operation in {resource.get('operations')}")


def rels(resource: dict) -> set[str]:
    return {op["rel"].removeprefix(ACTION) for op in resource.get("operations", [])}


def wait_for_job(api: requests.Session, job_url: str, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = api.get(job_url).json()
        if job["status"] != "RUNNING" or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def act(api: requests.Session, machine: dict, name: str, **extra) -> requests.Response:
    return api.post(
        operation(machine, name),
        json={"resourceURI": f"{NS}/Action", "action": ACTION + name, **extra},
    )


def create_machine(cloud: Cloud, api: requests.Session, cep: dict, **template) -> dict:
    body = {
        "resourceURI": f"{NS}/MachineCreate",
        "name": "lifecycle",
        "description": "made by a test",
        "properties": {"team": "gw"},
        "machineTemplate": {
            "machineConfig": {"href": href_of(cep["machineConfigs"], cloud.config)},
            "machineImage": {"href": href_of(cep["machineImages"], cloud.image)},
            **template,
        },
    }
    created = api.post(cep["machines"]["href"], json=body)
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == created.json()["id"]
    job = wait_for_job(api, created.headers["CIMI-Job-URI"])
    assert job["status"] == "SUCCESS", job
    assert job["targetResource"]["href"] == created.json()["id"]
    return api.get(created.headers["Location"]).json()
