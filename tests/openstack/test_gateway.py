"""A gateway in front of the real OpenStack, over HTTP, in both auth modes."""

from __future__ import annotations

import threading
import time

import requests

from gateway.auth import hash_password
from tests.e2e.gunicorn import Gateway
from tests.support.openstack import TOKEN_SECONDS
from tests.support.openstack import gateway_table

JSON = {"Accept": "application/json"}


def start(tmp_path, text: str) -> Gateway:
    config = tmp_path / "gateway.toml"
    config.write_text(f'[store]\npath = "{tmp_path / "store.sqlite3"}"\n{text}')
    return Gateway(config).start()


def test_passthrough_takes_the_keystone_user_and_password(openstack, tmp_path):
    gateway = start(tmp_path, gateway_table(openstack))
    try:
        url = f"{gateway.url}/cimi/machine_configurations"
        good = requests.get(
            url, auth=(openstack.username, openstack.password), headers=JSON
        )
        bad = requests.get(url, auth=(openstack.username, "wrong"), headers=JSON)
        cep = requests.get(f"{gateway.url}/cimi/cloudEntryPoint", headers=JSON)
    finally:
        gateway.stop()

    assert good.status_code == 200, good.text
    assert {c["name"] for c in good.json()["machineConfigurations"]} >= {"m1.tiny"}
    assert bad.status_code == 401
    assert bad.json()["code"] == 401
    assert cep.json()["driver"] == "openstack"


def test_static_auth_acts_as_the_configured_keystone_user(openstack, tmp_path):
    hashed = hash_password("alice-secret", iterations=1000)
    table = gateway_table(openstack) + (
        f'username = "{openstack.username}"\npassword = "{openstack.password}"\n'
    )
    text = f'[auth]\nmode = "static"\n[auth.users]\nalice = "{hashed}"\n{table}'
    gateway = start(tmp_path, text)
    try:
        url = f"{gateway.url}/cimi/machine_images"
        good = requests.get(url, auth=("alice", "alice-secret"), headers=JSON)
        bad = requests.get(
            url, auth=(openstack.username, openstack.password), headers=JSON
        )
    finally:
        gateway.stop()

    assert good.status_code == 200, good.text
    assert good.json()["count"] >= 1
    assert bad.status_code == 401  # the cloud's own user is not a gateway user


def test_reads_go_on_across_token_expiries_from_several_clients(openstack, tmp_path):
    """Keystone's tokens live TOKEN_SECONDS here: 4 clients reading for longer
    than that cross an expiry in every worker thread, and none may notice."""
    gateway = start(tmp_path, gateway_table(openstack))
    statuses: list[int] = []
    deadline = time.monotonic() + TOKEN_SECONDS + 8

    def read() -> None:
        with requests.Session() as session:
            session.auth = (openstack.username, openstack.password)
            session.headers.update(JSON)
            while time.monotonic() < deadline:
                for path in ("machines", "machine_images"):
                    answer = session.get(f"{gateway.url}/cimi/{path}")
                    statuses.append(answer.status_code)
                time.sleep(0.2)

    try:
        threads = [threading.Thread(target=read) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        gateway.stop()

    assert len(statuses) > 4 * 2 * TOKEN_SECONDS / 2
    assert set(statuses) == {200}, [s for s in statuses if s != 200][:5]
