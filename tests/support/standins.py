"""Clouds that misbehave, on 127.0.0.1: wrong answers, dripped answers.

Each is a listening socket served by a thread of the test process; leaving
the ``with`` block closes every connection and joins the thread.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator

#: what a stand-in does with one accepted connection.
Answer = Callable[[socket.socket, threading.Event], None]


def read_request(conn: socket.socket) -> bytes:
    """Read one HTTP request (head and a Content-Length body) from ``conn``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def fixed(status: str, content_type: str, body: bytes) -> Answer:
    """Answer every request with ``body``, as a misconfigured proxy would."""

    def answer(conn: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set() and read_request(conn):
            conn.sendall(
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )

    return answer


def delayed(seconds: float, answer: Answer) -> Answer:
    """Give ``answer`` to each request only ``seconds`` after it came."""

    def slow(conn: socket.socket, stop: threading.Event) -> None:
        head = conn.recv(65536, socket.MSG_PEEK)  # wait for a request first
        if head and not stop.wait(seconds):
            answer(conn, stop)

    return slow


def dripping(interval: float, body: bytes = b"<" * 4096) -> Answer:
    """Answer 200 with a long body, one byte every ``interval`` seconds."""

    def answer(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        for byte in body:
            if stop.wait(interval):
                return
            conn.sendall(bytes([byte]))

    return answer


@contextlib.contextmanager
def standin(answer: Answer) -> Iterator[str]:
    """Serve ``answer`` on a free port; yield ``http://127.0.0.1:PORT``."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    stop = threading.Event()
    conns: list[socket.socket] = []
    workers: list[threading.Thread] = []

    def serve_one(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            answer(conn, stop)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conns.append(conn)
            worker = threading.Thread(target=serve_one, args=(conn,), daemon=True)
            workers.append(worker)
            worker.start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        acceptor.join()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        for worker in workers:
            worker.join(timeout=5)
        listener.close()


def elapsed(call: Callable[[], object]) -> tuple[float, BaseException | None]:
    """Return how long ``call`` took and what it raised, if anything."""
    start = time.monotonic()
    try:
        call()
    except BaseException as ex:  # noqa: BLE001 - the test looks at it
        return time.monotonic() - start, ex
    return time.monotonic() - start, None
