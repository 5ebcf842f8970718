"""Load generators: wrk when installed, else an equivalent in Python.

Both run ``args.connections`` connections over ``args.threads`` threads (the
Python one: processes) for ``seconds``, sending ``target``'s headers, and
return a ``Result``.
"""

from __future__ import annotations

import http.client
import re
import statistics
import subprocess
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from bench.servers import HOST
from bench.servers import Target


@dataclass
class Result:
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    rps: float = field(init=False)

    def __post_init__(self) -> None:
        self.rps = self.requests / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {k: round(v, 3) for k, v in asdict(self).items()}


def percentiles(latencies: list[float]) -> tuple[float, float]:
    """Return p50 and p99 of ``latencies`` (s), in ms."""
    if len(latencies) < 2:
        return (latencies[0] * 1e3,) * 2 if latencies else (0.0, 0.0)
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return cuts[49] * 1e3, cuts[98] * 1e3


_WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def run_wrk(port: int, target: Target, seconds: int, args: Any) -> Result:
    argv = ["wrk", f"-t{args.threads}", f"-c{args.connections}"]
    argv += [f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for name, value in target.headers().items():
        argv += ["-H", f"{name}: {value}"]
    argv.append(f"http://{HOST}:{port}{target.path}")
    out = subprocess.run(
        argv, capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout

    def number(pattern: str) -> re.Match[str]:
        match = re.search(pattern, out, re.MULTILINE)
        if not match:
            raise RuntimeError(f"cannot read wrk output ({pattern}):\n{out}")
        return match

    def latency(pct: str) -> float:
        match = number(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m)\s*$")
        return float(match.group(1)) * _WRK_UNITS[match.group(2)]

    done = number(r"(\d+) requests in ([\d.]+)(us|ms|s|m)")
    # wrk prints these two lines only when they are not zero.
    failed = re.findall(
        r"^\s*(?:Socket errors|Non-2xx or 3xx responses):.*$", out, re.M
    )
    errors = sum(int(n) for line in failed for n in re.findall(r"\d+", line))
    return Result(
        requests=int(done.group(1)),
        errors=errors,
        seconds=float(done.group(2)) * _WRK_UNITS[done.group(3)] / 1e3,
        p50_ms=latency("50"),
        p99_ms=latency("99"),
    )


def _load_process(
    port: int, path: str, headers: dict[str, str], conns: int, start: float, stop: float
) -> tuple[int, float, list[float]]:
    """One load process: ``conns`` threads, each with its own connection."""
    latencies: list[float] = []
    errors: list[int] = []
    ends = [start]

    def loop() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        mine: list[float] = []
        failed = 0
        time.sleep(max(0.0, start - time.time()))
        while time.time() < stop:
            began = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()  # reopened by the next request
                ok = False
            if ok:
                mine.append(time.perf_counter() - began)
            else:
                failed += 1
        conn.close()
        latencies.extend(mine)
        errors.append(failed)
        ends.append(time.time())

    threads = [threading.Thread(target=loop) for _ in range(conns)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(errors), max(ends) - start, latencies


def run_python(port: int, target: Target, seconds: int, args: Any) -> Result:
    """wrk's model in Python: ``--threads`` processes share ``--connections``."""
    share, extra = divmod(args.connections, args.threads)
    start = time.time() + 0.5  # every process forked and ready
    with ProcessPoolExecutor(max_workers=args.threads) as pool:
        futures = [
            pool.submit(
                _load_process,
                port,
                target.path,
                target.headers(),
                share + (i < extra),
                start,
                start + seconds,
            )
            for i in range(args.threads)
        ]
        parts = [future.result(timeout=seconds + 60) for future in futures]
    latencies = [lat for _, _, lats in parts for lat in lats]
    p50, p99 = percentiles(latencies)
    return Result(
        requests=len(latencies),
        errors=sum(errors for errors, _, _ in parts),
        seconds=max(elapsed for _, elapsed, _ in parts),
        p50_ms=p50,
        p99_ms=p99,
    )
