"""Slow clients: raw TCP connections that send a request head byte by byte.

``Tricklers`` opens N connections to 127.0.0.1 and, from one thread, sends the
next byte of a valid GET head on each every ``interval`` seconds, padding the
head (an ``X-Padding`` header) so that it is not complete before ``seconds``.
Between bytes it watches every connection, so it records when the server
closes one (or resets it) and the start of what it answered, if anything.
"""

from __future__ import annotations

import math
import select
import socket
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from bench.servers import HOST
from bench.servers import Target


def slow_head(target: Target, port: int, min_bytes: int) -> bytes:
    """A valid GET head for ``target``, at least ``min_bytes`` long."""
    lines = [f"GET {target.path} HTTP/1.1", f"Host: {HOST}:{port}"]
    lines += [f"{name}: {value}" for name, value in target.headers().items()]
    head = "\r\n".join(lines) + "\r\n"
    short = min_bytes - len(head) - 2
    if short > 0:
        head += "X-Padding: " + "a" * max(short - 13, 1) + "\r\n"
    return (head + "\r\n").encode()


@dataclass
class Trickler:
    sock: socket.socket | None
    opened: float  # time.monotonic()
    sent: int = 0
    ended: float | None = None  # when the server closed it
    how: str = "open"
    answer: bytearray = field(default_factory=bytearray)

    def report(self, head_bytes: int) -> dict[str, Any]:
        first_line = bytes(self.answer).split(b"\r\n", 1)[0]
        return {
            "state": self.how,
            "closed_after_s": (
                None if self.ended is None else round(self.ended - self.opened, 2)
            ),
            "bytes_sent": self.sent,
            "head_bytes": head_bytes,
            "answer": first_line.decode("latin-1") or None,
        }


class Tricklers:
    def __init__(
        self, port: int, target: Target, count: int, interval: float, seconds: float
    ) -> None:
        self.port = port
        self.interval = interval
        # One byte now, then one per interval: never complete within seconds.
        self.head = slow_head(target, port, math.ceil(seconds / interval) + 2)
        self.count = count
        self.conns: list[Trickler] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        for _ in range(self.count):
            try:
                sock = socket.create_connection((HOST, self.port), timeout=5)
            except OSError as ex:
                conn = Trickler(None, time.monotonic(), how=f"connect failed: {ex}")
                conn.ended = conn.opened
            else:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.setblocking(False)
                conn = Trickler(sock, time.monotonic())
            self.conns.append(conn)
        self._thread.start()

    def _open(self) -> list[Trickler]:
        return [c for c in self.conns if c.sock is not None and c.ended is None]

    def _end(self, conn: Trickler, how: str) -> None:
        conn.ended, conn.how = time.monotonic(), how
        if conn.sock is not None:
            conn.sock.close()
            conn.sock = None

    def _send(self, conn: Trickler) -> None:
        if conn.sent >= len(self.head) or conn.sock is None:
            return
        try:
            conn.sent += conn.sock.send(self.head[conn.sent : conn.sent + 1])
        except BlockingIOError:
            pass  # the server reads nothing: the byte goes next time
        except OSError as ex:
            self._end(conn, f"closed by server ({type(ex).__name__} on send)")

    def _receive(self, conn: Trickler) -> None:
        if conn.sock is None:
            return
        try:
            data = conn.sock.recv(4096)
        except BlockingIOError:
            return
        except OSError as ex:
            self._end(conn, f"reset by server ({type(ex).__name__})")
            return
        if data:
            conn.answer += data[: max(0, 256 - len(conn.answer))]
        else:
            self._end(conn, "closed by server")

    def _run(self) -> None:
        due = time.monotonic()
        while not self._stop.is_set():
            if time.monotonic() >= due:
                for conn in self._open():
                    self._send(conn)
                due += self.interval
            socks = {c.sock: c for c in self._open()}
            wait = max(0.0, min(due - time.monotonic(), 0.2))
            if not socks:
                self._stop.wait(wait)
                continue
            readable, _, _ = select.select(list(socks), [], [], wait)
            for sock in readable:
                self._receive(socks[sock])

    def stop(self) -> list[dict[str, Any]]:
        """Stop sending, close what is still open; one report per connection."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        reports = [conn.report(len(self.head)) for conn in self.conns]
        for conn in self.conns:
            if conn.sock is not None:
                conn.sock.close()
                conn.sock = None
        return reports
