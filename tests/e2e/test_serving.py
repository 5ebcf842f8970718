"""The ways an operator starts the gateway, and the static auth mode."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import MOCK_AUTH
from tests.e2e.conftest import mock_config
from tests.e2e.gunicorn import CLI
from tests.e2e.gunicorn import Gateway
from tests.e2e.gunicorn import free_port

ROOT = Path(__file__).resolve().parents[2]


def wait_for(url: str, process: subprocess.Popen) -> None:
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "server exited"
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError("server did not start")


def test_plain_gunicorn_with_the_shipped_conf(tmp_path):
    port = free_port()
    config = mock_config(tmp_path)
    text = config.read_text() + f'\n[server]\nbind = "127.0.0.1:{port}"\nworkers = 1\n'
    config.write_text(text)
    env = {**os.environ, "CIMI_GATEWAY_CONFIG": str(config)}
    gunicorn = Path(sys.executable).parent / "gunicorn"
    process = subprocess.Popen(
        [str(gunicorn), "-c", str(ROOT / "config" / "gunicorn.conf.py")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/", process)
        response = requests.get(
            f"http://127.0.0.1:{port}/cimi/machine_images/img3", auth=MOCK_AUTH
        )
        assert response.status_code == 200
        assert b"<description>JBoss</description>" in response.content
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_invalid_config_stops_start_up_with_one_line(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('[providers.ec2]\ndriver = "ec2"\nmount = "/cimi"\n')

    result = subprocess.run(
        [str(CLI), "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "providers.ec2.region" in result.stderr
    assert "Traceback" not in result.stderr


def test_static_auth_keeps_cloud_keys_on_the_server(tmp_path):
    hashed = subprocess.run(
        [str(CLI), "hash-password"],
        input="s3cret\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    config = tmp_path / "static.toml"
    config.write_text(
        f"""
[store]
path = "{tmp_path / "store.sqlite3"}"

[auth]
mode = "static"

[auth.users]
alice = "${{ALICE_HASH}}"

[providers.mock]
driver = "mock"
mount = "/cimi/mock"
"""
    )
    os.environ["ALICE_HASH"] = hashed
    try:
        gateway = Gateway(config, workers=1).start()
    finally:
        del os.environ["ALICE_HASH"]
    try:
        url = f"{gateway.url}/cimi/mock/machine_images"
        assert requests.get(url, auth=("alice", "s3cret")).status_code == 200
        assert requests.get(url, auth=("alice", "wrong")).status_code == 401
        # The cloud's own credentials are not a gateway user's.
        assert requests.get(url, auth=MOCK_AUTH).status_code == 401
        assert requests.get(url).status_code == 401
    finally:
        gateway.stop()


def test_serve_says_where_it_listens_what_is_mounted_and_logs_requests(tmp_path):
    gateway = Gateway(mock_config(tmp_path)).start()
    try:
        requests.get(f"{gateway.url}/cimi/machines", auth=MOCK_AUTH)
    finally:
        gateway.stop()
    log = gateway.log.read_text()

    assert f"listening on {gateway.url} (2 workers x 16 threads)" in log
    assert f"mock (mock) at {gateway.url}/cimi/cloudEntryPoint" in log
    assert "demo credentials: mockuser / mockpassword" in log
    assert '"GET /cimi/machines HTTP/1.1" 200' in log
    assert "request_id=" in log


def test_version():
    result = subprocess.run(
        [str(CLI), "--version"], capture_output=True, text=True, timeout=30
    )

    assert result.returncode == 0
    assert result.stdout.strip() == "cimi-gateway 0.1.0"


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--workers", "0"), ("--threads", "0"), ("--bind", "nowhere")],
)
def test_serve_refuses_what_cannot_work(tmp_path, flag, value):
    result = subprocess.run(
        [str(CLI), "serve", "--config", str(mock_config(tmp_path)), flag, value],
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 2
    assert result.stderr.startswith(f"cimi-gateway: config error: {flag}")
