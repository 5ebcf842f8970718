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
