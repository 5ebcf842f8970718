"""What a real gunicorn gateway does with clients that are broken or hostile.

Raw sockets where a client library would refuse to send what is sent here.
"""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from lxml import etree

from tests.e2e.conftest import MOCK_AUTH
from tests.e2e.conftest import ec2_config
from tests.e2e.conftest import mock_config
from tests.e2e.gunicorn import Gateway
from tests.support import standins

AUTH_HEADER = b"Authorization: Basic bW9ja3VzZXI6bW9ja3Bhc3N3b3Jk\r\n"


def exchange(gateway: Gateway, data: bytes, timeout: float = 10) -> bytes:
    """Send ``data`` on a new connection; return all the server answers."""
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=timeout) as s:
        s.sendall(data)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    return answer


def parse(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def assert_cimi_error(answer: bytes, status: int) -> etree._Element:
    code, headers, body = parse(answer)
    assert code == status, answer[:300]
    assert headers["content-type"] == "application/xml"
    assert headers["cimi-specification-version"] == "1.0.1"
    root = etree.fromstring(body)
    assert root.tag == "error" and root.findtext("code") == str(status)
    return root


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET /cimi HTTP/9.9\r\nHost: x\r\n\r\n", 400),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 200 + b"\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n", 400),
    ],
    ids=["request-line", "http-version", "uri-too-long", "too-many-headers", "header"],
)
def test_what_gunicorn_refuses_itself_is_a_cimi_error(
    mock_gateway, request_bytes, status
):
    assert_cimi_error(exchange(mock_gateway, request_bytes), status)


def test_a_malformed_chunked_body_is_400(mock_gateway):
    answer = exchange(
        mock_gateway,
        b"POST /cimi/machine_templates HTTP/1.1\r\nHost: x\r\n"
        + AUTH_HEADER
        + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n2\r\n{}XX0\r\n\r\n",
    )

    root = assert_cimi_error(answer, 400)
    assert root.findtext("message") == "the request body is malformed or cut short"


def test_a_non_ascii_basic_header_is_401(mock_gateway):
    answer = exchange(
        mock_gateway,
        b"GET /cimi/machines HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \xe9\r\n"
        b"Connection: close\r\n\r\n",
    )

    assert_cimi_error(answer, 401)


def test_a_delete_answering_200_has_no_content_type(mock_gateway, client):
    created = client.post(
        f"{mock_gateway.url}/cimi/machine_templates",
        json={
            "machineConfig": {"href": "m1-small"},
            "machineImage": {"href": "img1"},
        },
    )

    deleted = client.delete(created.headers["Location"])

    assert created.status_code == 201
    assert (deleted.status_code, deleted.content) == (200, b"")
    assert "Content-Type" not in deleted.headers


# -- slow clients ------------------------------------------------------------------


class Trickler:
    """A connection sending a request head one byte at a time, for ever."""

    HEAD = b"GET /cimi/machine_images/img1 HTTP/1.1\r\nHost: x\r\n" + AUTH_HEADER

    def __init__(self, port: int, interval: float, stop: threading.Event) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.interval = interval
        self.stop = stop
        self.closed_after: float | None = None
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        start = time.monotonic()
        self.sock.settimeout(self.interval)
        for byte in self.HEAD * 100:
            if self.stop.is_set():
                return
            try:
                self.sock.send(bytes([byte]))
                if self.sock.recv(1) == b"":
                    raise ConnectionResetError
            except TimeoutError:
                continue
            except OSError:
                self.closed_after = time.monotonic() - start
                return

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture
def tricklers() -> Iterator[list[Trickler]]:
    made: list[Trickler] = []
    yield made
    for trickler in made:
        trickler.close()


def default_serving_gateway(folder: Path, **server: object) -> Gateway:
    config = mock_config(folder)
    if server:
        lines = "".join(f"{key} = {value}\n" for key, value in server.items())
        config.write_text(config.read_text() + "\n[server]\n" + lines)
    # Workers and threads as shipped: the harness passes --workers 2.
    return Gateway(config).start()


def test_slow_clients_do_not_starve_the_default_server(tmp_path, tricklers):
    gateway = default_serving_gateway(tmp_path)
    stop = threading.Event()
    try:
        tricklers += [Trickler(gateway.port, 1.0, stop) for _ in range(8)]
        time.sleep(1.5)  # every trickler has sent its first bytes

        answers = [
            requests.get(
                f"{gateway.url}/cimi/machine_images/img1", auth=MOCK_AUTH, timeout=5
            ).status_code
            for _ in range(20)
        ]
    finally:
        for trickler in tricklers:
            trickler.close()  # else a graceful stop waits for them
        gateway.stop()

    assert answers == [200] * 20


def test_a_request_head_that_never_ends_is_cut_off(tmp_path, tricklers):
    gateway = default_serving_gateway(tmp_path, request_read_timeout=2)
    stop = threading.Event()
    try:
        trickler = Trickler(gateway.port, 0.25, stop)
        tricklers.append(trickler)
        trickler.thread.join(timeout=15)
    finally:
        trickler.close()
        gateway.stop()

    # Without a deadline its 5,000-byte head would hold a thread for 20 min.
    assert trickler.closed_after is not None
    assert 1.5 < trickler.closed_after < 10


DESCRIBE_REGIONS = b"""<?xml version="1.0" encoding="UTF-8"?>
<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>standin</requestId>
  <regionInfo><item><regionName>us-east-1</regionName>
    <regionEndpoint>ec2.us-east-1.amazonaws.com</regionEndpoint></item></regionInfo>
</DescribeRegionsResponse>"""


def test_a_slow_credential_check_does_not_cut_the_clients_body(tmp_path):
    # Passthrough asks the cloud about new credentials before the body is
    # read; that time is the gateway's, not the client's read budget.
    cloud = standins.delayed(
        1.5, standins.fixed("200 OK", "text/xml", DESCRIBE_REGIONS)
    )
    with standins.standin(cloud) as endpoint:
        config = ec2_config(tmp_path, endpoint, timeout=10)
        config.write_text(config.read_text() + "\n[server]\nrequest_read_timeout = 1\n")
        gateway = Gateway(config).start()
        try:
            body = b'{"name": "no config, no image"}'
            token = base64.b64encode(b"AKIDSLOWCHECK:secret")
            with socket.create_connection(("127.0.0.1", gateway.port), 10) as sock:
                sock.sendall(
                    b"POST /cimi/machine_templates HTTP/1.1\r\nHost: x\r\n"
                    b"Authorization: Basic " + token + b"\r\n"
                    b"Content-Type: application/json\r\nConnection: close\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                )
                time.sleep(0.3)  # the body comes in a second write
                sock.sendall(body)
                answer = b""
                while chunk := sock.recv(65536):
                    answer += chunk
        finally:
            gateway.stop()

    status, _, payload = parse(answer)
    assert status == 400
    # The body was read: it is refused for what it says, not as missing.
    assert b"required in a machine template" in payload, payload
