"""gunicorn's side: an access log that never writes credentials, its refusals."""

from __future__ import annotations

import base64
import datetime
import logging

import pytest
from gunicorn.config import Config
from gunicorn.http import errors as http_errors

from gateway.serving import ACCESS_LOG_FORMAT
from gateway.serving import AccessLogger
from gateway.serving import refusal

TOKEN = base64.b64encode(b"AKIAEXAMPLEKEYID:secret").decode()


class Response:
    status = "200 OK"
    sent = 10
    headers = [("X-Request-Id", "rid-1")]


class Request:
    headers = [("AUTHORIZATION", f"Basic {TOKEN}"), ("COOKIE", "session=abc")]


ENVIRON = {
    "REQUEST_METHOD": "GET",
    "RAW_URI": "/cimi/machines",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "127.0.0.1",
    "HTTP_AUTHORIZATION": f"Basic {TOKEN}",
    "HTTP_COOKIE": "session=abc",
}


@pytest.mark.parametrize(
    "log_format",
    [
        ACCESS_LOG_FORMAT,
        '%(h)s %(u)s "%(r)s" %({authorization}i)s %({http_authorization}e)s',
        "%({cookie}i)s %(u)s",
    ],
    ids=["shipped", "asks-for-the-user-and-header", "asks-for-cookies"],
)
def test_no_access_log_format_can_write_credentials(log_format, caplog):
    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set("access_log_format", log_format)
    logger = AccessLogger(cfg)
    logger.access_log.propagate = True

    with caplog.at_level(logging.INFO, logger="gunicorn.access"):
        logger.access(Response(), Request(), ENVIRON, datetime.timedelta(seconds=0))

    line = caplog.records[-1].getMessage()
    assert "AKIAEXAMPLEKEYID" not in line
    assert TOKEN not in line and "session=abc" not in line


def test_the_shipped_format_names_the_request_and_its_id(caplog):
    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set("access_log_format", ACCESS_LOG_FORMAT)
    logger = AccessLogger(cfg)
    logger.access_log.propagate = True

    with caplog.at_level(logging.INFO, logger="gunicorn.access"):
        logger.access(Response(), Request(), ENVIRON, datetime.timedelta(seconds=0))

    line = caplog.records[-1].getMessage()
    assert line == '127.0.0.1 "GET /cimi/machines HTTP/1.1" 200 10 0ms request_id=rid-1'


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (http_errors.InvalidRequestLine("x"), 400),
        (http_errors.LimitRequestLine(9000, 4094), 414),
        (http_errors.LimitRequestHeaders("too many"), 431),
        (http_errors.InvalidResponseHeaderName("x"), 500),
        (http_errors.UnsupportedTransferCoding("gzip"), 501),
        (ValueError("a bug"), 500),
    ],
)
def test_refusals_keep_gunicorns_statuses(error, status):
    assert refusal(error)[0] == status


# -- the read budget: only time spent waiting on the client counts ------------


@pytest.fixture
def client_socket():
    """A DeadlineSocket as the worker holds it, and the client's end."""
    import socket

    from gateway.serving import DeadlineSocket

    ours, theirs = socket.socketpair()
    ours.settimeout(3)  # a safety net: no test here may hang
    adopted = DeadlineSocket.adopt(ours)
    yield adopted, theirs
    adopted.close()
    theirs.close()


def test_the_apps_own_time_does_not_spend_the_clients_budget(client_socket):
    import time

    ours, theirs = client_socket
    ours.budget = 0.3
    time.sleep(0.5)  # the app checks credentials with a slow cloud first
    theirs.sendall(b"the body")

    assert ours.recv(100) == b"the body"


def test_a_client_that_keeps_the_gateway_waiting_is_cut_once_its_budget_is_spent(
    client_socket,
):
    import time

    ours, theirs = client_socket
    ours.budget = 0.4
    theirs.sendall(b"a")
    assert ours.recv(100) == b"a"
    started = time.monotonic()
    assert ours.recv(100) == b""  # nothing more comes: as if it hung up
    assert 0.3 < time.monotonic() - started < 1.5
    theirs.sendall(b"late")
    assert ours.recv(100) == b""  # spent: no more waiting, whatever comes


def test_without_a_budget_reads_are_plain(client_socket):
    ours, theirs = client_socket
    theirs.sendall(b"x")
    assert ours.recv(1) == b"x"
