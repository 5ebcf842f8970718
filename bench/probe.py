"""One client reading a URL in a loop while something else loads the server.

Requests go one after another over one ``http.client`` connection, kept alive
when the server allows it, else (the server answered ``Connection: close``, or
the request failed) re-opened by the next request. Only requests that start
inside the window ``[start, stop)`` (``time.time()``) are counted; one still
running at ``stop`` finishes first.
"""

from __future__ import annotations

import http.client
import time
from dataclasses import dataclass
from typing import Any

from bench.load import percentiles
from bench.servers import HOST
from bench.servers import Target


@dataclass
class ProbeResult:
    requests: int  # answered 200
    timeouts: int
    errors: int  # other failures: refused, reset, not 200
    seconds: float
    latencies: list[float]  # s, of the answered ones
    closed_by_server: int  # answers with Connection: close

    @property
    def connection(self) -> str:
        if not self.requests:
            return "-"
        if not self.closed_by_server:
            return "keep-alive"
        if self.closed_by_server >= self.requests:
            return "new per request"
        return f"mixed ({self.closed_by_server} of {self.requests} closed)"

    def as_dict(self) -> dict[str, Any]:
        p50, p99 = percentiles(self.latencies) if self.latencies else (None, None)
        top = max(self.latencies) * 1e3 if self.latencies else None
        return {
            "attempts": self.requests + self.timeouts + self.errors,
            "requests": self.requests,
            "timeouts": self.timeouts,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "rps": round(self.requests / self.seconds, 3) if self.seconds else 0.0,
            "p50_ms": None if p50 is None else round(p50, 3),
            "p99_ms": None if p99 is None else round(p99, 3),
            "max_ms": None if top is None else round(top, 3),
            "connection": self.connection,
        }


def run_probe(
    port: int, target: Target, start: float, stop: float, timeout: float = 10.0
) -> ProbeResult:
    """GET ``target`` again and again from ``start`` until ``stop``."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    headers = target.headers()
    result = ProbeResult(0, 0, 0, stop - start, [], 0)
    time.sleep(max(0.0, start - time.time()))
    try:
        while time.time() < stop:
            began = time.perf_counter()
            try:
                conn.request("GET", target.path, headers=headers)
                resp = conn.getresponse()
                resp.read()
            except TimeoutError:
                conn.close()  # re-opened by the next request
                result.timeouts += 1
                continue
            except (OSError, http.client.HTTPException):
                conn.close()
                result.errors += 1
                time.sleep(0.01)  # a refused connection fails at once
                continue
            if resp.status != 200:
                result.errors += 1
                continue
            result.latencies.append(time.perf_counter() - began)
            result.requests += 1
            # http.client closes the socket after such an answer.
            result.closed_by_server += resp.will_close
    finally:
        conn.close()
    return result
