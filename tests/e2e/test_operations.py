"""What operators rely on, over real gunicorn: /healthz, /readyz, /metrics,
request ids, log lines (text and JSON) and a graceful stop."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import threading
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from gateway.auth import hash_password
from tests.e2e.conftest import JSON
from tests.e2e.conftest import MOCK_AUTH
from tests.e2e.conftest import ec2_config
from tests.e2e.gunicorn import Gateway
from tests.e2e.gunicorn import free_port
from tests.e2e.scenario import act
from tests.e2e.scenario import wait_for_job
from tests.support import standins
from tests.support.moto import KEY
from tests.support.moto import SECRET


def config(folder: Path, extra: str = "", *, store: str | None = None) -> Path:
    """Write a mock-cloud config with ``extra`` TOML tables appended."""
    store = store or f'path = "{folder / "store.sqlite3"}"'
    path = folder / "gateway.toml"
    path.write_text(
        f"""
[store]
{store}

[providers.mock]
driver = "mock"
mount = "/cimi"
delay = 0
{extra}
"""
    )
    return path


@pytest.fixture
def started(tmp_path):
    """Start gateways (``started(config)``), stopped by PID after the test."""
    gateways: list[Gateway] = []

    def start(path: Path, **options) -> Gateway:
        gateway = Gateway(path, **options).start()
        gateways.append(gateway)
        return gateway

    yield start
    for gateway in gateways:
        gateway.stop()


def samples(text: str, name: str, **labels: str) -> float:
    """Return the sum of metric ``name``'s samples whose labels include ``labels``."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
        and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def wait_for_workers(
    gateway: Gateway, count: int | None = None, timeout: float = 20
) -> None:
    """Return once ``count`` workers (default: all) have built their app."""
    deadline = time.monotonic() + timeout
    while gateway.log.read_text().count(": ready") < (count or gateway.workers):
        assert time.monotonic() < deadline, gateway.log.read_text()
        time.sleep(0.1)


def fresh_get(url: str, **options) -> requests.Response:
    """GET on a new connection, so gunicorn may give it to either worker."""
    headers = {"Connection": "close", **options.pop("headers", {})}
    return requests.get(url, headers=headers, timeout=10, **options)


# -- /healthz and /readyz -------------------------------------------------------


def test_readyz_tells_the_store_and_each_cloud_and_a_cloud_down_is_not_unready(
    tmp_path, started
):
    closed = free_port()  # nothing listens there: an EC2 that is down
    extra = f"""
[providers.ec2]
driver = "ec2"
mount = "/cimi/ec2"
region = "us-east-1"
endpoint = "http://127.0.0.1:{closed}"
"""
    gateway = started(config(tmp_path, extra))
    health = fresh_get(f"{gateway.url}/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}

    ready = probed(gateway)
    assert ready.status_code == 200
    assert ready.headers["Content-Type"].startswith("application/json")
    body = ready.json()
    assert body["status"] == "ready"
    assert body["store"] == {"status": "ok"}
    clouds = {p["name"]: p for p in body["providers"]}
    assert clouds["mock"]["cloud"] == "up" and clouds["mock"]["mount"] == "/cimi"
    assert clouds["ec2"]["cloud"] == "down"
    assert clouds["ec2"]["driver"] == "ec2" and clouds["ec2"]["configured"] is True
    assert clouds["ec2"]["reason"] == "the cloud does not answer"
    # Where, and why, is for the operator's log, not for anyone who asks.
    assert f"127.0.0.1:{closed}" not in ready.text
    assert f"127.0.0.1:{closed} does not answer" in gateway.log.read_text()
    # No credentials needed, whatever the Host: what a load balancer sends.
    odd_host = fresh_get(f"{gateway.url}/readyz", headers={"Host": "10.0.0.7:80"})
    assert odd_host.status_code == 200


def probed(gateway: Gateway, timeout: float = 20) -> requests.Response:
    """Return /readyz once every cloud's first probe has given its verdict."""
    deadline = time.monotonic() + timeout
    while True:
        ready = fresh_get(f"{gateway.url}/readyz")
        clouds = [p["cloud"] for p in ready.json()["providers"]]
        if "unknown" not in clouds or time.monotonic() > deadline:
            return ready
        time.sleep(0.1)


def test_readyz_answers_at_once_while_a_cloud_hangs(tmp_path, started):
    # A cloud that takes the connection and never answers.
    hanging = standins.delayed(60, standins.fixed("200 OK", "text/xml", b""))
    with standins.standin(hanging) as endpoint:
        extra = (
            '[providers.ec2]\ndriver = "ec2"\nmount = "/cimi/ec2"\n'
            f'region = "us-east-1"\nendpoint = "{endpoint}"\n'
            "[server]\nworkers = 1\nthreads = 2\n"
        )
        gateway = started(config(tmp_path, extra), workers=1)
        # A load balancer's one-second timeout: every check answers within it,
        # as many as there are threads and more, while the probe hangs.
        for _ in range(6):
            ready = requests.get(f"{gateway.url}/readyz", timeout=1)
            assert ready.status_code == 200
            clouds = {p["name"]: p["cloud"] for p in ready.json()["providers"]}
            assert clouds == {"mock": "up", "ec2": "unknown"}


def test_readyz_is_503_while_the_store_does_not_answer(tmp_path, started, postgres_url):
    from tests.support import postgres

    server = postgres.start_postgres()
    # Static auth: a request then reaches the store without asking the mock
    # cloud (whose state is in the same store) about its credentials first.
    hashed = hash_password(MOCK_AUTH[1], iterations=1000)
    static = (
        f'key = "{MOCK_AUTH[0]}"\nsecret = "{MOCK_AUTH[1]}"\n'
        f'[auth]\nmode = "static"\n[auth.users]\n{MOCK_AUTH[0]} = "{hashed}"\n'
    )
    try:
        url = postgres.migrated(server.url())
        gateway = started(config(tmp_path, static, store=f'url = "{url}"'))
        wait_for_workers(gateway)
        assert fresh_get(f"{gateway.url}/readyz").status_code == 200
        answer = fresh_get(
            f"{gateway.url}/cimi/machine_templates", auth=MOCK_AUTH, headers=JSON
        )
        assert answer.status_code == 200
    finally:
        postgres.stop_postgres(server)

    ready = fresh_get(f"{gateway.url}/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "unready" and body["store"]["status"] == "failing"
    assert body["store"]["reason"] == "the store does not answer"
    assert server.password not in ready.text and str(server.port) not in ready.text
    # A request that needs the store: a 503 the client may retry, never a 500.
    answer = fresh_get(
        f"{gateway.url}/cimi/machine_templates", auth=MOCK_AUTH, headers=JSON
    )
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"]
    assert answer.json()["requestId"] == answer.headers["X-Request-Id"]
    metrics = fresh_get(f"{gateway.url}/metrics").text
    assert samples(metrics, "cimi_gateway_store_errors_total") >= 1
    # The mock cloud lives in that store: it is down, said without the
    # database's own words.
    machines = fresh_get(f"{gateway.url}/cimi/machines", auth=MOCK_AUTH, headers=JSON)
    assert machines.status_code == 503, machines.text
    assert "store does not answer" in machines.json()["message"]
    assert str(server.port) not in machines.text

    # A worker replaced while the database is down still starts: gunicorn
    # halts the whole gateway when a worker fails to boot.
    booted = re.findall(r"Booting worker with pid: (\d+)", gateway.log.read_text())
    os.kill(int(booted[0]), signal.SIGTERM)
    wait_for_workers(gateway, gateway.workers + 1)
    assert gateway.process is not None and gateway.process.poll() is None
    assert fresh_get(f"{gateway.url}/healthz").status_code == 200
    assert fresh_get(f"{gateway.url}/readyz").status_code == 503


# -- /metrics -------------------------------------------------------------------


def test_metrics_add_up_every_workers_requests_cloud_calls_and_jobs(tmp_path, started):
    gateway = started(config(tmp_path))
    reads = 30
    for _ in range(reads):
        # A new connection each: the two workers share them.
        answer = fresh_get(f"{gateway.url}/cimi/machine_images/img1", auth=MOCK_AUTH)
        assert answer.status_code == 200
    missing = fresh_get(f"{gateway.url}/cimi/machine_images/nope", auth=MOCK_AUTH)
    assert missing.status_code == 404
    with requests.Session() as api:
        api.auth, api.headers = MOCK_AUTH, {**JSON, "Connection": "close"}
        machine = api.get(f"{gateway.url}/cimi/machines/inst1").json()
        acted = act(api, machine, "stop")
        assert acted.status_code == 202, acted.text
        job = wait_for_job(api, acted.headers["CIMI-Job-URI"])
        assert job["status"] == "SUCCESS"

    pids = set()
    # Whichever worker answers the scrape, it counts both workers' requests.
    for _ in range(6):
        scrape = fresh_get(f"{gateway.url}/metrics")
        assert scrape.status_code == 200
        assert scrape.headers["Content-Type"].startswith("text/plain")
        text = scrape.text
        route = {"route": "/cimi/machine_images/{id}", "method": "GET"}
        assert (
            samples(
                text,
                "cimi_gateway_request_duration_seconds_count",
                **route,
                status="200",
            )
            == reads
        )
        assert (
            samples(
                text,
                "cimi_gateway_request_duration_seconds_count",
                **route,
                status="404",
            )
            == 1
        )
        assert (
            samples(text, "cimi_gateway_request_duration_seconds_count", **route)
            == reads + 1
        )
        image_calls = {"provider": "mock", "operation": "get_machine_image"}
        assert (
            samples(
                text,
                "cimi_gateway_cloud_call_duration_seconds_count",
                **image_calls,
                outcome="ok",
            )
            == reads
        )
        assert (
            samples(
                text,
                "cimi_gateway_cloud_call_duration_seconds_count",
                **image_calls,
                outcome="404",
            )
            == 1
        )
        assert (
            samples(
                text, "cimi_gateway_cloud_call_duration_seconds_count", **image_calls
            )
            == reads + 1
        )
        assert samples(text, "cimi_gateway_jobs_total", status="RUNNING") >= 1
        assert samples(text, "cimi_gateway_jobs_total", status="SUCCESS") >= 1
        pids.add(scrape.headers.get("X-Request-Id"))
    assert len(pids) == 6  # six answers, each its own request

    # A worker that dies is replaced; what it counted is still counted, and
    # the folder every worker counts in outlives it.
    booted = re.findall(r"Booting worker with pid: (\d+)", gateway.log.read_text())
    os.kill(int(booted[0]), signal.SIGTERM)
    wait_for_workers(gateway, gateway.workers + 1)
    scrape = fresh_get(f"{gateway.url}/metrics")
    assert scrape.status_code == 200
    route = {"route": "/cimi/machine_images/{id}", "method": "GET"}
    assert (
        samples(
            scrape.text,
            "cimi_gateway_request_duration_seconds_count",
            **route,
            status="200",
        )
        == reads
    )


def test_metrics_on_their_own_bind_behind_their_own_credentials(tmp_path, started):
    port = free_port()
    hashed = hash_password("scrape-secret", iterations=1000)
    gateway = started(
        config(
            tmp_path,
            f'[metrics]\nbind = "127.0.0.1:{port}"\n'
            f'[metrics.users]\nprom = "{hashed}"\n',
        )
    )
    apart = f"http://127.0.0.1:{port}"
    # Not on the API's bind, however spelt; nothing but /metrics on the
    # metrics' bind.
    for spelling in ("/metrics", "//metrics", "/metrics/", "///metrics"):
        assert fresh_get(f"{gateway.url}{spelling}").status_code == 404, spelling
    assert fresh_get(f"{apart}/cimi/cloudEntryPoint", auth=MOCK_AUTH).status_code == 404
    assert (
        fresh_get(f"{gateway.url}/cimi/cloudEntryPoint", auth=MOCK_AUTH).status_code
        == 200
    )

    refused = fresh_get(f"{apart}/metrics")
    assert refused.status_code == 401 and "WWW-Authenticate" in refused.headers
    assert fresh_get(f"{apart}/metrics", auth=("prom", "wrong")).status_code == 401
    assert (
        fresh_get(f"{apart}/metrics", auth=("nobody", "scrape-secret")).status_code
        == 401
    )
    scrape = fresh_get(f"{apart}/metrics", auth=("prom", "scrape-secret"))
    assert scrape.status_code == 200
    assert (
        samples(
            scrape.text,
            "cimi_gateway_request_duration_seconds_count",
            route="/cimi/cloudEntryPoint",
        )
        >= 1
    )


def test_metrics_can_be_switched_off(tmp_path, started):
    gateway = started(config(tmp_path, "\n[metrics]\nenabled = false\n"))
    assert fresh_get(f"{gateway.url}/metrics").status_code == 404
    assert (
        fresh_get(f"{gateway.url}/cimi/machine_images", auth=MOCK_AUTH).status_code
        == 200
    )


# -- request ids and log lines ----------------------------------------------------


def lines_of(gateway: Gateway, request_id: str, deadline: float = 5) -> list[str]:
    """Return the log lines naming ``request_id``, once its access line is in."""
    end = time.monotonic() + deadline
    while True:
        found = [
            line for line in gateway.log.read_text().splitlines() if request_id in line
        ]
        if any("gunicorn.access" in line or '"GET ' in line for line in found):
            return found
        if time.monotonic() > end:
            return found
        time.sleep(0.1)


def test_request_ids_are_echoed_and_in_error_documents_and_text_log_lines(
    tmp_path, started
):
    gateway = started(config(tmp_path))
    mine = fresh_get(
        f"{gateway.url}/cimi/machine_images/nope",
        auth=MOCK_AUTH,
        headers={**JSON, "X-Request-Id": "ops-test-1"},
    )
    assert mine.status_code == 404
    assert mine.headers["X-Request-Id"] == "ops-test-1"
    assert mine.json()["requestId"] == "ops-test-1"

    xml = fresh_get(f"{gateway.url}/cimi/machine_images/nope", auth=MOCK_AUTH)
    made = xml.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert f"<requestId>{made}</requestId>" in xml.text

    # Too long, or not a tame token: replaced by one of ours.
    for hostile in ("x" * 65, "a b", "id\u00e9"):
        answer = fresh_get(
            f"{gateway.url}/cimi/cloudEntryPoint",
            headers={"X-Request-Id": hostile.encode("utf-8").decode("latin-1")},
        )
        assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-Id"])

    # gunicorn's own refusals carry one too, in the header and the document.
    with socket.create_connection(("127.0.0.1", gateway.port), 5) as sock:
        sock.sendall(b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    refused_id = re.search(rb"X-Request-Id: ([0-9a-f]{32})", head).group(1).decode()
    assert f"<requestId>{refused_id}</requestId>".encode() in body

    lines = lines_of(gateway, "ops-test-1")
    # The access line and the cloud call's line both name the request.
    assert any(
        '"GET /cimi/machine_images/nope' in line and " 404 " in line for line in lines
    ), lines
    assert any(
        "cloud call provider=mock operation=get_machine_image outcome=404" in line
        for line in lines
    ), lines
    assert any(refused_id in line for line in gateway.log.read_text().splitlines())


def test_json_logs_are_objects_with_request_and_cloud_call_fields_and_no_secret(
    tmp_path, started, moto_reset
):
    folder = tmp_path / "ec2"
    folder.mkdir()
    path = ec2_config(folder, moto_reset)
    path.write_text(path.read_text() + '\n[logging]\nformat = "json"\n')
    gateway = started(path)
    answer = fresh_get(
        f"{gateway.url}/cimi/machines",
        auth=(KEY, SECRET),
        headers={**JSON, "X-Request-Id": "json-log-1"},
    )
    assert answer.status_code == 200
    refused = fresh_get(
        f"{gateway.url}/cimi/machine_templates", headers={"X-Request-Id": "json-log-2"}
    )
    assert refused.status_code == 401
    lines_of(gateway, "json-log-2")
    gateway.stop()

    text = gateway.log.read_text()
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert records, "no log lines"
    for record in records:
        assert {"time", "level", "logger", "message", "request_id"} <= set(record)
    mine = [r for r in records if r["request_id"] == "json-log-1"]
    request = next(r for r in mine if r.get("event") == "request")
    assert request["method"] == "GET" and request["path"] == "/cimi/machines"
    assert request["route"] == "/cimi/machines" and request["status"] == 200
    assert request["duration_ms"] >= 0
    calls = [r for r in mine if r.get("event") == "cloud_call"]
    assert {c["operation"] for c in calls} >= {"check_credentials", "list_machines"}
    for call in calls:
        assert call["provider"] == "ec2" and call["outcome"] == "ok"
        assert call["duration_ms"] >= 0
    assert any(
        r.get("event") == "request" and r["status"] == 401
        for r in records
        if r["request_id"] == "json-log-2"
    )
    # Neither the key, nor the secret, nor the Basic header that carries them.
    basic = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
    for secret in (SECRET, KEY, basic):
        assert secret not in text


# -- graceful stop ----------------------------------------------------------------


DESCRIBE_REGIONS = b"""<?xml version="1.0" encoding="UTF-8"?>
<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>standin</requestId>
  <regionInfo><item><regionName>us-east-1</regionName>
    <regionEndpoint>ec2.us-east-1.amazonaws.com</regionEndpoint></item></regionInfo>
</DescribeRegionsResponse>"""


def test_sigterm_lets_a_request_in_flight_finish_and_closes_the_store(
    tmp_path, started
):
    # A cloud that takes 3 s to check new credentials: the request is in the
    # gateway's hands when SIGTERM comes.
    cloud = standins.delayed(3, standins.fixed("200 OK", "text/xml", DESCRIBE_REGIONS))
    with standins.standin(cloud) as endpoint:
        gateway = started(ec2_config(tmp_path, endpoint, timeout=20))
        answers: list[requests.Response] = []

        def ask() -> None:
            answers.append(
                requests.get(
                    f"{gateway.url}/cimi/machine_templates",
                    auth=("AKIDGRACEFUL", "secret"),
                    headers=JSON,
                    timeout=30,
                )
            )

        client = threading.Thread(target=ask)
        client.start()
        time.sleep(1)  # the credential check is under way
        assert gateway.process is not None
        gateway.process.send_signal(signal.SIGTERM)
        client.join(30)
        code = gateway.process.wait(30)

    assert answers and answers[0].status_code == 200, answers
    assert answers[0].json()["count"] == 0
    assert code == 0
    log = gateway.log.read_text()
    assert log.count("store closed") == 2  # each of the two workers
    # After the stop nothing listens.
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{gateway.url}/healthz", timeout=2)
