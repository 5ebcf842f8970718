"""How gunicorn serves the gateway: worker, error pages, access log.

- ``worker_class`` is gunicorn's ``gthread`` worker with two changes. A
  client may keep a request (head and body) waiting only so long in all, so
  a client that trickles bytes holds a thread for that long at most, not for
  ever; the app's own time does not count against the client.
  And what gunicorn refuses itself before the app sees it (a bad request
  line, a URI or headers too long) is answered with a CIMI error document,
  not gunicorn's HTML page.
- ``AccessLogger`` never writes credentials, whatever the log format asks,
  and writes gunicorn's lines, the gateway's and the access log alike as
  text or as JSON lines (``logger_class``).
"""

from __future__ import annotations

import socket
import ssl
import time
import uuid
from typing import Any

from gunicorn import glogging
from gunicorn import util
from gunicorn.http import errors as http_errors
from gunicorn.workers.gthread import ThreadWorker

from gateway import logs
from gateway.cimi import codec
from gateway.cimi.schema import SPEC_VERSION

#: gunicorn's access log line: who, what, status, bytes, time, request id.
ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'

# Refusals of gunicorn's own parser, most specific class first; any other
# ParseException (and TLS garbage) is a plain 400.
_REFUSALS: tuple[tuple[type[BaseException], int, str], ...] = (
    (http_errors.InvalidResponseHeader, 500, "Internal Server Error"),
    (http_errors.InvalidResponseHeaderName, 500, "Internal Server Error"),
    (http_errors.ConfigurationProblem, 500, "Internal Server Error"),
    (http_errors.LimitRequestLine, 414, "URI Too Long"),
    (http_errors.LimitRequestHeaders, 431, "Request Header Fields Too Large"),
    (http_errors.ForbiddenProxyRequest, 403, "Forbidden"),
    (http_errors.ExpectationFailed, 417, "Expectation Failed"),
    (http_errors.UnsupportedTransferCoding, 501, "Not Implemented"),
    (http_errors.ParseException, 400, "Bad Request"),
    (ssl.SSLError, 400, "Bad Request"),
)


def refusal(exc: BaseException) -> tuple[int, str]:
    """Return the status and title gunicorn's error ``exc`` answers with."""
    for kind, status, title in _REFUSALS:
        if isinstance(exc, kind):
            return status, title
    return 500, "Internal Server Error"


def error_response(
    status: int, title: str, message: str, url: str, request_id: str
) -> bytes:
    """Return a whole HTTP response carrying a CIMI error document (XML).

    The request was not read far enough to know what it accepts: XML is what
    CIMI answers without an ``Accept``.
    """
    body = codec.encode_error(
        status, title, message, url, codec.XML_MEDIA_TYPE, request_id
    )
    head = (
        f"HTTP/1.1 {status} {title}\r\n"
        "Connection: close\r\n"
        f"Content-Type: {codec.XML_MEDIA_TYPE}\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"CIMI-Specification-Version: {SPEC_VERSION}\r\n"
        f"X-Request-Id: {request_id}\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + body


class DeadlineSocket(socket.socket):
    """A client socket that may wait on its client only so long per request.

    ``budget`` (seconds) is set when a request starts; only the time spent
    blocked in ``recv``, waiting on the client, uses it up; the app's own
    time (a slow credential check before the body is read) does not. Once it
    is spent, a read answers as if the client had hung up, so gunicorn drops
    a head that never ends and the app sees a body cut short (400).
    """

    budget: float | None = None
    #: it came in on ``[metrics] bind``.
    metrics_listener = False

    @classmethod
    def adopt(cls, sock: socket.socket) -> DeadlineSocket:
        """Return ``sock`` as a ``DeadlineSocket`` (same connection)."""
        timeout = sock.gettimeout()
        adopted = cls(sock.family, sock.type, sock.proto, fileno=sock.detach())
        adopted.settimeout(timeout)
        return adopted

    def recv(self, size: int, flags: int = 0) -> bytes:
        if self.budget is None:
            return super().recv(size, flags)
        if self.budget <= 0:
            return b""
        previous = self.gettimeout()
        # NOTE(gw): a blocking socket waits at most what is left; a
        # non-blocking one (gunicorn's poller) is left as it is.
        if previous is None or previous > self.budget:
            self.settimeout(self.budget)
        started = time.monotonic()
        try:
            return super().recv(size, flags)
        except TimeoutError:
            return b""
        finally:
            self.budget -= time.monotonic() - started
            self.settimeout(previous)


class CimiThreadWorker(ThreadWorker):
    """gunicorn's ``gthread`` worker, bounded in time, with CIMI error pages.

    ``request_read_timeout`` is set by ``worker_class``.
    """

    request_read_timeout: float = 10.0
    #: the port of ``[metrics] bind``, whose connections serve ``/metrics`` only.
    metrics_port: int | None = None

    def accept(self, listener: socket.socket) -> None:
        # NOTE(gw): the listener's accept() is wrapped, not copied: gunicorn's
        # own accept then hands every new connection over as a DeadlineSocket.
        name = listener.getsockname() if self.metrics_port else None
        # A unix socket's name is its path: never the metrics' port.
        port = name[1] if isinstance(name, tuple) else None
        super().accept(_AdoptingListener(listener, port == self.metrics_port))

    def handle(self, conn: Any) -> Any:
        if isinstance(conn.sock, DeadlineSocket):
            conn.sock.budget = self.request_read_timeout
        try:
            return super().handle(conn)
        finally:
            if isinstance(conn.sock, DeadlineSocket):
                conn.sock.budget = None

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException):
        status, title = refusal(exc)
        # Refused before the app read it: the request gets an id here, the
        # same in the log line, the header and the error document.
        request_id = uuid.uuid4().hex
        token = logs.REQUEST_ID.set(request_id)
        try:
            if status >= 500:
                self.log.exception("Error handling request")
            else:
                ip = (addr or ("",))[0]
                self.log.warning("Invalid request from ip=%s: %s", ip, exc)
        finally:
            logs.REQUEST_ID.reset(token)
        url = getattr(req, "uri", "") or ""
        message = str(exc) or title
        answer = error_response(status, title, message, url, request_id)
        try:
            util.write_nonblock(client, answer)
        except Exception:
            self.log.debug("Failed to send error message.")


class _AdoptingListener:
    """A listening socket whose ``accept`` returns ``DeadlineSocket``s, marked
    when they came in on the metrics listener (``gunicorn.socket`` in the
    environ tells the app)."""

    def __init__(self, listener: socket.socket, metrics: bool = False) -> None:
        self._listener = listener
        self._metrics = metrics

    def accept(self) -> tuple[DeadlineSocket, Any]:
        sock, address = self._listener.accept()
        adopted = DeadlineSocket.adopt(sock)
        adopted.metrics_listener = self._metrics
        return adopted, address

    def getsockname(self) -> Any:
        return self._listener.getsockname()


def worker_class(
    request_read_timeout: float, metrics_port: int | None = None
) -> type[CimiThreadWorker]:
    """Return the worker class for gunicorn, with its read deadline set, and
    the port of the metrics' own listener, if any."""
    return type(
        "CimiThreadWorker",
        (CimiThreadWorker,),
        {
            "request_read_timeout": float(request_read_timeout),
            "metrics_port": metrics_port,
        },
    )


class AccessLogger(glogging.Logger):
    """gunicorn's logger, with credentials left out of every access line.

    ``%(u)s`` is the Basic user, which in passthrough mode is the cloud's
    access key id; request headers and environ entries that carry
    credentials are dropped, so no format can print them.
    """

    _SECRET_ATOMS = ("authorization", "cookie")
    #: ``[logging] format``: "text" or "json" (set by ``logger_class``).
    log_format = "text"

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            logs.dress(handler, self.log_format)
        if self.log_format == "json":
            for handler in self.access_log.handlers:
                logs.dress(handler, self.log_format)

    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["u"] = "-"
        for key in list(atoms):
            if key.startswith("{") and any(s in key for s in self._SECRET_ATOMS):
                del atoms[key]
        return atoms

    def access(self, resp: Any, req: Any, environ: dict, request_time: Any) -> None:
        if self.log_format != "json":
            return super().access(resp, req, environ, request_time)
        if not self.access_log_enabled:
            return None
        atoms = self.atoms(resp, req, environ, request_time)
        request_id = atoms.get("{x-request-id}o", "-")
        line = logs.fields(
            event="request",
            remote=atoms["h"],
            method=atoms["m"],
            path=atoms["U"],
            query=atoms["q"] or "",
            route=environ.get(logs.ROUTE_ENVIRON, "-"),
            status=int(atoms["s"]) if str(atoms["s"]).isdigit() else atoms["s"],
            bytes=atoms["B"] or 0,
            duration_ms=round(atoms["D"] / 1000, 3),
        )
        line["request_id"] = request_id
        self.access_log.info("%s %s %s", atoms["m"], atoms["U"], atoms["s"], extra=line)
        return None


def logger_class(log_format: str) -> type[AccessLogger]:
    """Return gunicorn's logger class writing ``log_format`` lines."""
    return type("AccessLogger", (AccessLogger,), {"log_format": log_format})
