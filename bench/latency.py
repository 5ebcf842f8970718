"""The gateway's added latency on ec2: its answer against the call it makes.

For each ``Pair``, three arms run sequentially, one request at a time:

- ``gateway``: GET the URL, over one ``http.client`` connection (which
  reconnects whenever the server closes it, as gunicorn's sync worker does
  after every answer: the connection's set-up is then in the gateway's time);
- ``bare``: the same GET to the bare app, which replays the gateway's bytes:
  what gunicorn and HTTP alone cost, for information;
- ``direct``: the libcloud (or provider) call the gateway makes, in this
  process, with a driver built as the provider builds it.

After a warm-up, the arms take turns in rounds (their order rotating each
round), so that a drift of moto or of the machine hits all three alike. The
added latency is gateway p50 - direct p50.
"""

from __future__ import annotations

import http.client
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.load import percentiles
from bench.servers import HOST
from bench.servers import Target
from gateway import config as gateway_config
from providers.base import Credentials
from providers.registry import provider_class

TARGET_ADDED_MS = 1.5
ARMS = ("gateway", "bare", "direct")


@dataclass(frozen=True)
class Pair:
    """A gateway URL and the direct call it stands for."""

    target: Target
    direct_label: str
    direct: Callable[[], object]


def ec2_pairs(
    config_path: Path, provider_name: str, machines: Target, configurations: Target
) -> list[Pair]:
    """Pair the ec2 provider's two listings with the calls behind them.

    The provider is built from the gateway's own config, and its driver by
    ``provider.driver`` as a gateway worker thread gets it (``make_driver``:
    SigV4, host and port of the endpoint, ``secure`` from its scheme).
    """
    config = gateway_config.load(config_path)
    [entry] = [e for e in config.providers if e.name == provider_name]
    provider = provider_class(entry.driver)(entry.name, entry.settings, None)
    creds = Credentials(*machines.credentials)
    driver = provider.driver(creds)
    kind = type(provider).__name__
    return [
        Pair(machines, f"{type(driver).__name__}.list_nodes()", driver.list_nodes),
        Pair(
            configurations,
            f"{kind}.list_machine_configurations()",
            lambda: provider.list_machine_configurations(creds),
        ),
    ]


class HttpGet:
    """GET one target again and again over one (re-opened) connection."""

    def __init__(self, port: int, target: Target) -> None:
        self.conn = http.client.HTTPConnection(HOST, port, timeout=30)
        self.path = target.path
        self.headers = target.headers()
        self.closed_by_server = 0

    def __call__(self) -> bool:
        try:
            self.conn.request("GET", self.path, headers=self.headers)
            resp = self.conn.getresponse()
            resp.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()  # re-opened by the next request
            return False
        # http.client closes the socket after such an answer.
        self.closed_by_server += resp.will_close
        return resp.status == 200


def timed(call: Callable[[], object], times: list[float]) -> bool:
    """Run ``call`` once; keep its time in ``times`` when it succeeds."""
    began = time.perf_counter()
    try:
        ok = call() is not False
    except Exception:
        ok = False
    if ok:
        times.append(time.perf_counter() - began)
    return ok


def summary(times: list[float], errors: int) -> dict[str, Any]:
    if not times:
        return {"n": 0, "errors": errors, "p50_ms": None, "p99_ms": None}
    p50, p99 = percentiles(times)
    return {
        "n": len(times),
        "errors": errors,
        "p50_ms": round(p50, 3),
        "p99_ms": round(p99, 3),
        "mean_ms": round(statistics.fmean(times) * 1e3, 3),
    }


def measure_pair(
    pair: Pair, gateway_port: int, bare_port: int, requests: int, warmup: int, size: int
) -> dict[str, Any]:
    gets = {
        "gateway": HttpGet(gateway_port, pair.target),
        "bare": HttpGet(bare_port, pair.target),
    }
    calls: dict[str, Callable[[], object]] = {**gets, "direct": pair.direct}
    times: dict[str, list[float]] = {arm: [] for arm in ARMS}
    errors = dict.fromkeys(ARMS, 0)
    try:
        for arm in ARMS:
            for _ in range(warmup):
                timed(calls[arm], [])
        for get in gets.values():
            get.closed_by_server = 0
        done, turn = 0, 0
        while done < requests:
            count = min(size, requests - done)
            for arm in ARMS[turn % 3 :] + ARMS[: turn % 3]:
                for _ in range(count):
                    errors[arm] += not timed(calls[arm], times[arm])
            done, turn = done + count, turn + 1
    finally:
        for get in gets.values():
            get.conn.close()
    result: dict[str, Any] = {
        "url": pair.target.label,
        "direct_call": pair.direct_label,
        **{arm: summary(times[arm], errors[arm]) for arm in ARMS},
        "connections_closed_by_server": {
            name: get.closed_by_server for name, get in gets.items()
        },
    }
    gateway, direct = result["gateway"]["p50_ms"], result["direct"]["p50_ms"]
    if gateway is None or direct is None:
        result["added_p50_ms"], result["pass"] = None, False
    else:
        result["added_p50_ms"] = round(gateway - direct, 3)
        result["pass"] = result["added_p50_ms"] <= TARGET_ADDED_MS
    return result


def measure(
    pairs: list[Pair],
    gateway_port: int,
    bare_port: int,
    *,
    requests: int,
    warmup: int,
    round_size: int,
) -> dict[str, Any]:
    """Measure every pair in turn; nothing else loads the servers meanwhile."""
    results = [
        measure_pair(pair, gateway_port, bare_port, requests, warmup, round_size)
        for pair in pairs
    ]
    # A connection the server closed after every answer: one per request.
    per_request = all(
        row["connections_closed_by_server"]["gateway"] >= row["gateway"]["n"]
        for row in results
    )
    return {
        "target_added_ms": TARGET_ADDED_MS,
        "requests": requests,
        "warmup": warmup,
        "round_size": round_size,
        "client": "http.client, one request at a time",
        "gateway_connection": "new per request (the server closes it), "
        "its set-up counted in the gateway's time"
        if per_request
        else "kept alive across requests",
        "results": results,
    }
