"""A whole-call deadline for the HTTP requests a cloud call makes.

``requests``' timeout bounds each socket read, so a cloud that drips a byte
now and then holds a call for as long as it likes. Here a provider call runs
inside ``deadline(seconds)``; every HTTP request made in it gets at most the
time left (to connect and for each read), and one watchdog thread shuts the
socket of a request still answering when the time is up, which ends the
read at once, TLS or not. ``DeadlineConnection`` is the libcloud connection
class that does this.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import requests
from libcloud.http import LibcloudConnection
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.connectionpool import HTTPSConnectionPool

_local = threading.local()


class Deadline:
    """The moment a call must be over by, and the sockets it is reading."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self.finished = False
        self.sockets: list[socket.socket] = []

    def remaining(self) -> float:
        return self.at - time.monotonic()


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[Deadline | None]:
    """Run the block under a deadline ``seconds`` from now (None: none).

    Nested blocks keep the outermost deadline: a call is bounded as a whole.
    """
    outer = current()
    if seconds is None or outer is not None:
        yield outer
        return
    bound = Deadline(seconds)
    _local.deadline = bound
    try:
        yield bound
    finally:
        _local.deadline = None
        _watchdog().finish(bound)


def current() -> Deadline | None:
    """Return the deadline the calling thread runs under, if any."""
    return getattr(_local, "deadline", None)


class _Watchdog:
    """One thread that shuts the sockets of calls past their deadline."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self.pid = os.getpid()
        threading.Thread(target=self._run, name="cloud-deadline", daemon=True).start()

    def watch(self, bound: Deadline, sock: socket.socket) -> None:
        with self._lock:
            if bound.finished:
                return
            if not bound.sockets:
                heapq.heappush(self._heap, (bound.at, next(self._order), bound))
                self._lock.notify()
            bound.sockets.append(sock)
            expired = bound.expired
        if expired:
            _shut(sock)

    def finish(self, bound: Deadline) -> None:
        with self._lock:
            bound.finished = True
            bound.sockets.clear()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._lock.wait(wait)
                _, _, bound = heapq.heappop(self._heap)
                if bound.finished:
                    continue
                bound.expired = True
                # Under the lock: once ``finish`` has returned, a socket the
                # call used (pooled, maybe serving the thread's next call
                # already) is never shut on its behalf. shutdown() never blocks.
                for sock in bound.sockets:
                    _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


_watchdog_lock = threading.Lock()
_the_watchdog: _Watchdog | None = None


def _watchdog() -> _Watchdog:
    """Return this process's watchdog (a forked worker starts its own)."""
    global _the_watchdog
    with _watchdog_lock:
        if _the_watchdog is None or _the_watchdog.pid != os.getpid():
            _the_watchdog = _Watchdog()
        return _the_watchdog


class _Watched:
    """Put the socket of each response being read under the deadline."""

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        bound = current()
        if bound is not None and self.sock is not None:
            _watchdog().watch(bound, self.sock)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """``requests``' adapter, giving each request only the time left."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPPool,
            "https": _WatchedHTTPSPool,
        }

    def send(self, request: Any, **kwargs: Any) -> Any:
        bound = current()
        if bound is not None:
            left = bound.remaining()
            if left <= 0:
                bound.expired = True
                raise requests.Timeout(f"no time left of {bound.seconds:g} s")
            kwargs["timeout"] = _clamp(kwargs.get("timeout"), left)
        return super().send(request, **kwargs)


def _clamp(timeout: Any, left: float) -> tuple[float, float]:
    if isinstance(timeout, tuple):
        connect, read = timeout
    else:
        connect = read = timeout
    return (
        left if connect is None else min(connect, left),
        left if read is None else min(read, left),
    )


class DeadlineConnection(LibcloudConnection):
    """libcloud's HTTP connection, its requests bounded by ``deadline``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        adapter = DeadlineAdapter()
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
