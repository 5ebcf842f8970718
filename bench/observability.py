"""What metrics and request ids cost on ``GET /cimi/machine_images/img1``.

Issue 11's goal: counting (Prometheus, multiprocess mode) and request ids take
under 5 % of the mock read's throughput. In one run:

1. over HTTP: two ``cimi-gateway serve`` (the shipped ``[server]`` threads,
   ``--workers`` workers, 1 by default: see ``WORKERS_WHY``), the same
   config but for ``[metrics] enabled = false`` on one,
   started once each and loaded in turn, never at once, in ``--rounds``
   rounds whose order alternates (on/off, off/on, ...); cost = 1 - on/off
   req/s, the median of the rounds' ratios, PASS under 5 %; beside it the
   gateways' CPU µs per request (``cpu_seconds``), steadier on a shared box;
2. in process (the WSGI app called directly, as ``bench/inprocess.py``):
   (a) as shipped, (b) metrics off by config, (c) metrics off and request
   ids off (a bench-only patch, see ``request_ids_off``), best of
   ``--batches`` batches, µs per request;
3. what one counting call costs, timed alone (``unit_costs``), and with
   ``--profile`` a cProfile of the in-process loop.

    .venv/bin/python bench/observability.py [--rounds 5] [--duration 3] [--json]
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# Production counts in multiprocess mode (gateway.cli.prepare_metrics_folder):
# every value is a file-backed mmap, dearer than the in-memory one. The mode
# is chosen when prometheus_client is first imported, so the folder is named
# before any gateway import, for the in-process arms. The gateways started
# over HTTP get their own folder from `cimi-gateway serve` (see child_env).
METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"
_METRICS_DIR = tempfile.mkdtemp(prefix="cimi-bench-metrics-")
os.environ[METRICS_ENV] = _METRICS_DIR
atexit.register(shutil.rmtree, _METRICS_DIR, True)

import argparse  # noqa: E402
import contextlib  # noqa: E402
import cProfile  # noqa: E402
import http.client  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import pstats  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402
from collections.abc import Callable  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextvars import ContextVar  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from bench.inprocess import JSON  # noqa: E402
from bench.inprocess import XML  # noqa: E402
from bench.inprocess import App  # noqa: E402
from bench.inprocess import best_us  # noqa: E402
from bench.inprocess import call  # noqa: E402
from bench.load import run_python  # noqa: E402
from bench.load import run_wrk  # noqa: E402
from bench.servers import HOST  # noqa: E402
from bench.servers import Servers  # noqa: E402
from bench.servers import StartError  # noqa: E402
from bench.servers import Target  # noqa: E402
from bench.servers import free_port  # noqa: E402
from bench.servers import venv_command  # noqa: E402
from bench.servers import write_config  # noqa: E402
from bench.serving import MOCK  # noqa: E402
from bench.serving import MOCK_IMAGE  # noqa: E402
from bench.serving import providers  # noqa: E402
from bench.serving import shipped_default  # noqa: E402
from gateway import app as gateway_app  # noqa: E402
from gateway import config as gateway_config  # noqa: E402
from gateway import metrics  # noqa: E402
from gateway import middleware  # noqa: E402
from gateway.app import create_app  # noqa: E402

GOAL = 0.05  # the most metrics and request ids may cost: 5 % of req/s
PATH = MOCK_IMAGE.path
TARGETS = (Target(PATH, MOCK, "mock", XML), Target(PATH, MOCK, "mock", JSON))
ARMS = ("on", "off")  # over HTTP: [metrics] enabled = true (shipped) / false
#: in process: as shipped; metrics off by config; and request ids off too.
INPROC_ARMS = ("shipped", "metrics_off", "metrics_ids_off")
METRICS_OFF = "\n[metrics]\nenabled = false\n"
IMAGE_ROUTE = "/cimi/machine_images/{id}"  # the route PATH is counted under
#: Why one worker by default. With two, the kernel hands wrk's keep-alive
#: connections to whichever worker accepts first, and a run where one worker
#: took them all serves half as much: measured on one metrics-off gateway,
#: 695 req/s against 1,450-1,930 in the runs around it (the other worker's
#: CPU did not move). That swings the on/off ratio from 0.3 to 3.3, which
#: drowns a 5 % effect. Counting costs the same per request whatever the
#: number of workers (each writes its own files), so one worker, the load
#: generator on the other core, measures it without the lottery.
WORKERS_WHY = "one worker: no lottery over which worker accepts the connections"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="on/off run pairs")
    parser.add_argument("--duration", type=int, default=3, help="s per run")
    parser.add_argument("--warmup", type=int, default=1, help="s before each run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="load threads")
    parser.add_argument(
        "--workers", type=int, default=1,
        help="gunicorn workers per gateway (1: see WORKERS_WHY)",
    )  # fmt: skip
    parser.add_argument("--load", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--batches", type=int, default=15, help="in-process batches per arm"
    )
    parser.add_argument(
        "--requests", type=int, default=1000, help="requests per in-process batch"
    )
    parser.add_argument(
        "--http", action=argparse.BooleanOptionalAction, default=True,
        help="run the HTTP part (--no-http: in process only)",
    )  # fmt: skip
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the in-process arms too"
    )
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    if not (1 <= args.threads <= args.connections):
        parser.error("need 1 <= --threads <= --connections")
    if min(args.rounds, args.duration, args.batches, args.requests, args.workers) < 1:
        parser.error("need --rounds, --duration, --batches, --requests, --workers >= 1")
    if args.warmup < 0:
        parser.error("need --warmup >= 0")
    if args.load == "auto":
        args.load = "wrk" if shutil.which("wrk") else "python"
    elif args.load == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install wrk)")
    return args


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- over HTTP -------------------------------------------------------------


def child_env() -> dict[str, str]:
    """The gateways' environment: without this process's metrics folder.

    ``cimi-gateway serve`` empties a given folder of its ``*.db`` files and
    counts in it: two gateways sharing ours would add up each other's counts
    and delete the in-process arms' files. Unset, each makes its own.
    """
    return {k: v for k, v in os.environ.items() if k != METRICS_ENV}


def get(port: int, target: Target, path: str | None = None) -> tuple[int, Any, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request("GET", path or target.path, headers=target.headers())
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def counted_reads(port: int) -> float:
    """Return the image route's requests the gateway counted (histogram count)."""
    status, _, body = get(port, TARGETS[0], middleware.METRICS_PATH)
    if status != 200:
        raise StartError(f"/metrics answered {status}")
    return sum(
        sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
        if sample.name == "cimi_gateway_request_duration_seconds_count"
        and sample.labels.get("route") == IMAGE_ROUTE
    )


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(master: int) -> float:
    """CPU time (user + system) of gunicorn's master and its workers so far.

    Beside req/s, which the machine's other jobs move by tens of %, the CPU
    a gateway spends per request hardly depends on who else runs: it is the
    steadier measure of what counting adds. Workers are the master's
    children (/proc/PID/stat: field 4 is the parent, 14 and 15 the times).
    """
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a process that ended meanwhile
        pid, ppid = int(stat.parent.name), int(fields[1])
        if master in (pid, ppid):
            total += (int(fields[11]) + int(fields[12])) / _TICK
    return total


def start_gateways(servers: Servers, work: Path, workers: int) -> dict[str, int]:
    """Start the metrics-on and metrics-off gateways; return their ports.

    Same config (``bench/serving.py``'s mock at /cimi, delay 0, passthrough
    auth, the shipped ``[server]`` threads, ``workers`` workers) and each its own
    store; the off one's ends with ``[metrics] enabled = false``.
    """
    shape = shipped_default()
    command = [*venv_command("cimi-gateway", "gateway.cli"), "serve"]
    ports = {}
    for arm in ARMS:
        folder = work / f"gateway-{arm}"
        folder.mkdir()
        port = free_port()
        config = write_config(folder, port, workers, shape.threads, providers())
        if arm == "off":
            config.write_text(config.read_text() + METRICS_OFF)
        name = f"gateway-{arm}"
        servers.start(name, [*command, "--config", str(config)], env=child_env())
        servers.wait_ready(name, port, MOCK_IMAGE)
        ports[arm] = port
    # What each arm is: the id is made by the gateway either way (the
    # client sends none), /metrics is there only when counting is on.
    for arm, port in ports.items():
        status, headers, _ = get(port, MOCK_IMAGE)
        if status != 200 or not headers.get(middleware.REQUEST_ID_HEADER):
            raise StartError(f"gateway-{arm}: no 200 with an X-Request-Id")
        status, _, _ = get(port, MOCK_IMAGE, middleware.METRICS_PATH)
        if status != (200 if arm == "on" else 404):
            raise StartError(f"gateway-{arm}: /metrics answered {status}")
    return ports


def load_rounds(
    args: argparse.Namespace, ports: dict[str, int], pids: dict[str, int]
) -> list[dict]:
    """Load each target on both gateways in turn, ``--rounds`` times.

    The order flips every round so that a drift of the machine (the other
    worktrees' jobs, thermal) weighs on both arms alike; each round's on/off
    ratio is taken from two adjacent runs, and their median decides.
    """
    load = run_wrk if args.load == "wrk" else run_python
    rows = []
    for target in TARGETS:
        rounds = []
        for number in range(args.rounds):
            order = ARMS if number % 2 == 0 else ARMS[::-1]
            pair: dict[str, Any] = {}
            for arm in order:
                turn = f"({number + 1}/{args.rounds})"
                log(f"loading metrics {arm}: {target.label} {turn}")
                if args.warmup:
                    load(ports[arm], target, args.warmup, args)
                cpu = cpu_seconds(pids[arm])
                pair[arm] = load(ports[arm], target, args.duration, args).as_dict()
                cpu = cpu_seconds(pids[arm]) - cpu
                pair[arm]["cpu_us"] = round(cpu / max(pair[arm]["requests"], 1) * 1e6)
            pair["ratio"] = pair["on"]["rps"] / max(pair["off"]["rps"], 1e-9)
            pair["cpu_ratio"] = pair["off"]["cpu_us"] / max(pair["on"]["cpu_us"], 1)
            rounds.append(pair)
        ratios = sorted(p["ratio"] for p in rounds)
        cpu_ratios = sorted(p["cpu_ratio"] for p in rounds)
        cpu_ratio = statistics.median(cpu_ratios)
        ratio = statistics.median(ratios)
        middle = sorted(rounds, key=lambda p: p["ratio"])[len(rounds) // 2]
        rows.append(
            {
                "url": target.label,
                "on_rps": round(statistics.median(p["on"]["rps"] for p in rounds), 1),
                "off_rps": round(statistics.median(p["off"]["rps"] for p in rounds), 1),
                "ratio": round(ratio, 4),
                "ratio_range": [round(ratios[0], 4), round(ratios[-1], 4)],
                "cost": round(1 - ratio, 4),
                "pass": 1 - ratio < GOAL,
                # CPU µs per request (master + workers), and the cost on it:
                # 1 - off/on, what the rate loses when the CPU is the bound.
                "on_cpu_us": statistics.median(p["on"]["cpu_us"] for p in rounds),
                "off_cpu_us": statistics.median(p["off"]["cpu_us"] for p in rounds),
                "cpu_cost": round(1 - cpu_ratio, 4),
                "cpu_cost_range": [
                    round(1 - cpu_ratios[-1], 4),
                    round(1 - cpu_ratios[0], 4),
                ],
                "cpu_pass": 1 - cpu_ratio < GOAL,
                "median_round": middle,
                "errors": sum(p[a]["errors"] for p in rounds for a in ARMS),
                "rounds": rounds,
            }
        )
    return rows


def http_part(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    servers = Servers(work)
    try:
        ports = start_gateways(servers, work, args.workers)
        before = counted_reads(ports["on"])
        pids = {arm: servers.procs[f"gateway-{arm}"].pid for arm in ARMS}
        rows = load_rounds(args, ports, pids)
        counted = counted_reads(ports["on"]) - before
        if counted < 1:  # the "on" arm measured nothing it claims to
            raise StartError("the metrics-on gateway counted no image read")
        shape = shipped_default()
        return {
            "server": {
                "workers": args.workers,
                "shipped_workers": shape.workers,
                "threads": shape.threads,
                "worker_class": servers.worker_class("gateway-on"),
            },
            "load": {
                "generator": args.load,
                "threads": args.threads,
                "connections": args.connections,
                "duration_s": args.duration,
                "warmup_s": args.warmup,
                "rounds": args.rounds,
            },
            # The on gateway's own count of image reads during the load: that
            # it counted at all, in multiprocess mode (warm-ups included).
            "on_counted_reads": counted,
            "results": rows,
        }
    finally:
        servers.stop_all()


# -- in process ------------------------------------------------------------


class _NoToken:
    """A stand-in ``REQUEST_ID`` contextvar: sets nothing, hands no token."""

    def set(self, value: str) -> None:
        return None

    def get(self, default: str = "-") -> str:
        return "-"


def _blank_id(size: int) -> bytes:
    return b""  # "".hex() is falsy: the middleware then sends no X-Request-Id


@contextlib.contextmanager
def request_ids_off() -> Iterator[None]:
    """Switch the middleware's request ids off, for the bench only.

    ``gateway.middleware`` reaches ``os`` and ``logs`` through its module
    globals at call time, so swapping them there (and nowhere else) while
    the block runs takes out: the random id (``os.urandom(16).hex()``), the
    contextvar's set and reset, and the X-Request-Id response header (the
    id is "", which ``process_response`` skips). What stays: reading the
    request's X-Request-Id header and matching "" against the id pattern.
    """
    saved_os, saved_logs = middleware.os, middleware.logs
    middleware.os = types.SimpleNamespace(urandom=_blank_id)  # type: ignore[assignment]
    middleware.logs = types.SimpleNamespace(REQUEST_ID=_NoToken())  # type: ignore[assignment]
    try:
        yield
    finally:
        middleware.os, middleware.logs = saved_os, saved_logs


@contextlib.contextmanager
def counting(enabled: bool) -> Iterator[None]:
    """Count, or not, while the block runs.

    Whether a process counts is per process (``metrics.configure``, set by
    ``create_app``): the two apps built here share this one, so the last
    app built would decide for both. Each arm sets it for its own batches.
    """
    metrics.configure(enabled=enabled)
    try:
        yield
    finally:
        metrics.configure(enabled=True)


@contextlib.contextmanager
def metrics_and_ids_off() -> Iterator[None]:
    with counting(False), request_ids_off():
        yield


def build_apps(work: Path) -> dict[str, tuple[App, Callable[[], Any]]]:
    """Each in-process arm: its WSGI app and the context it runs in."""
    apps = {}
    for arm in ("on", "off"):
        folder = work / f"inprocess-{arm}"
        folder.mkdir()
        config = write_config(folder, 8000, 1, 1, providers())
        if arm == "off":
            config.write_text(config.read_text() + METRICS_OFF)
        apps[arm] = create_app(gateway_config.load(str(config)))
    return {
        "shipped": (apps["on"], lambda: counting(True)),
        "metrics_off": (apps["off"], lambda: counting(False)),
        "metrics_ids_off": (apps["off"], metrics_and_ids_off),
    }


def requests_counted() -> float:
    """Return the requests this process has counted (the histogram's _count)."""
    return sum(
        sample.value
        for family in metrics.REQUEST_SECONDS.collect()
        for sample in family.samples
        if sample.name.endswith("_count")
    )


def check_arms(arms: dict[str, tuple[App, Callable[[], Any]]], accept: str) -> None:
    """Each arm answers 200; only the shipped one counts, only the last sends no id."""
    for name, (app, context) in arms.items():
        before = requests_counted()
        with context():
            for _ in range(50):  # warm: caches, the seeded store
                status, headers, _ = call(app, PATH, accept)
        counted = requests_counted() - before
        has_id = any(k.lower() == "x-request-id" for k, _ in headers)
        if not status.startswith("200") or has_id != (name != "metrics_ids_off"):
            raise SystemExit(f"{name}: {status}, X-Request-Id sent: {has_id}")
        if counted != (50 if name == "shipped" else 0):
            raise SystemExit(f"{name}: counted {counted} of 50 requests")


def cloud_calls_per_read(app: App, accept: str) -> float:
    """How many cloud calls one image read reports (what counting pays for)."""
    seen = []
    saved = gateway_app.metrics.observe_cloud_call
    gateway_app.metrics.observe_cloud_call = lambda *a: seen.append(a)  # type: ignore[assignment]
    try:
        for _ in range(20):
            call(app, PATH, accept)
    finally:
        gateway_app.metrics.observe_cloud_call = saved  # type: ignore[assignment]
    return len(seen) / 20


def inprocess_part(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    arms = build_apps(work)
    rows = []
    for accept in (XML, JSON):
        check_arms(arms, accept)
        best = dict.fromkeys(INPROC_ARMS, float("inf"))
        for batch in range(args.batches):
            # Rotate who goes first: a batch after a GC pause or a neighbour's
            # burst should not always be the same arm's.
            shift = batch % len(INPROC_ARMS)
            for name in INPROC_ARMS[shift:] + INPROC_ARMS[:shift]:
                app, context = arms[name]
                with context():
                    us = best_us(app, PATH, accept, args.requests)
                best[name] = min(best[name], us)
        a, b, c = (best[n] for n in INPROC_ARMS)
        rows.append(
            {
                "url": f"GET {PATH} {'JSON' if accept == JSON else 'XML'}",
                "us": {n: round(best[n], 2) for n in INPROC_ARMS},
                # Throughput cost, as over HTTP: 1 - rate_on/rate_off.
                "metrics_cost": round(1 - b / a, 4),
                "request_ids_cost": round(1 - c / b, 4),
                "both_cost": round(1 - c / a, 4),
                "cloud_calls_per_read": cloud_calls_per_read(
                    arms["shipped"][0], accept
                ),
            }
        )
    files = sorted(p.name for p in Path(_METRICS_DIR).glob("*.db"))
    report: dict[str, Any] = {
        "batches": args.batches,
        "requests": args.requests,
        "multiprocess_dir_files": files,
        "results": rows,
        "unit_costs_us": unit_costs(),
    }
    if args.profile:
        report["profile"] = {
            name: profile(arms[name], args.requests * 5) for name in INPROC_ARMS[:2]
        }
    return report


def per_call_us(fn: Callable[[], Any], repeat: int = 20000) -> float:
    """Best of 5 loops of ``repeat`` calls of ``fn``, µs per call."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - started) / repeat)
    return round(best * 1e6, 3)


def unit_costs() -> dict[str, float]:
    """µs per call of each piece a request pays for, timed on its own.

    In this process's multiprocess mode, with the labels an image read has.
    """
    import uuid

    metrics.configure(enabled=True)  # the last app built may have said no
    route, op = IMAGE_ROUTE, "get_machine_image"
    var: ContextVar[str] = ContextVar("bench_request_id", default="-")
    histogram = metrics.REQUEST_SECONDS.labels(route, "GET", "200")

    def set_reset() -> None:
        var.reset(var.set("0123456789abcdef0123456789abcdef"))

    return {
        "observe_request (one histogram)": per_call_us(
            lambda: metrics.observe_request(route, "GET", 200, 0.0003)
        ),
        "observe_cloud_call (one histogram)": per_call_us(
            lambda: metrics.observe_cloud_call("bench", op, "ok", 0.0001)
        ),
        "Histogram.labels(...)": per_call_us(
            lambda: metrics.REQUEST_SECONDS.labels(route, "GET", "200")
        ),
        "Histogram.labels(...).observe()": per_call_us(
            lambda: metrics.REQUEST_SECONDS.labels(route, "GET", "200").observe(0.0003)
        ),
        "a kept series: observe()": per_call_us(lambda: histogram.observe(0.0003)),
        "uuid.uuid4().hex": per_call_us(lambda: uuid.uuid4().hex),
        "os.urandom(16).hex()": per_call_us(lambda: os.urandom(16).hex()),
        "contextvar set + reset": per_call_us(set_reset),
    }


def profile(arm: tuple[App, Callable[[], Any]], requests: int) -> list[dict]:
    """cProfile ``requests`` XML reads; the 15 functions of most own time."""
    app, context = arm
    profiler = cProfile.Profile()
    with context():
        profiler.enable()
        for _ in range(requests):
            call(app, PATH, XML)
        profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    rows = []
    for (file, line, name), (_, calls, own, cum, _) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append(
            {
                "function": f"{Path(file).name}:{line}({name})",
                "calls_per_request": round(calls / requests, 2),
                "own_us_per_request": round(own / requests * 1e6, 2),
                "cum_us_per_request": round(cum / requests * 1e6, 2),
            }
        )
    rows.sort(key=lambda r: -r["own_us_per_request"])
    return rows[:15]


# -- output ----------------------------------------------------------------


def pct(value: float) -> str:
    return f"{value * 100:+.1f}%"


def print_http(report: dict[str, Any]) -> None:
    server, load = report["server"], report["load"]
    print(
        f"over HTTP: gunicorn {server['workers']} workers x {server['threads']}"
        f" threads ({server['worker_class']}); load: {load['generator']},"
        f" {load['threads']} threads, {load['connections']} connections,"
        f" {load['rounds']} rounds of {load['duration_s']} s per arm after"
        f" {load['warmup_s']} s warm-up, order alternating; {HOST} only"
    )
    if server["workers"] == 1 and server["shipped_workers"] != 1:
        print(f"({WORKERS_WHY}; --workers {server['shipped_workers']} as shipped)")
    rows = report["results"]
    width = max(len(r["url"]) for r in rows)
    print(
        f"{'url':<{width}}  {'on req/s':>9} {'off req/s':>9}  {'on/off':>6}"
        f" {'range':>13}  {'cost':>6}  vs < {GOAL:.0%}"
    )
    for r in rows:
        low, high = r["ratio_range"]
        verdict = "PASS" if r["pass"] else "FAIL"
        print(
            f"{r['url']:<{width}}  {r['on_rps']:>9.1f} {r['off_rps']:>9.1f}"
            f"  {r['ratio']:>6.3f} {f'{low:.3f}-{high:.3f}':>13}"
            f"  {pct(r['cost']):>6}  {verdict}"
        )
    print(
        "on: shipped config (metrics counted, multiprocess); off: the same with"
        " [metrics] enabled = false; both make request ids. req/s: median of"
        " the rounds; on/off: median of the rounds' ratios, range their lowest"
        " and highest; cost = 1 - on/off."
    )
    print(
        f"\n{'gateway CPU':<{width}}  {'on µs/req':>9} {'off µs/req':>10}"
        f" {'range':>15}  {'cost':>6}  vs < {GOAL:.0%}"
    )
    for r in rows:
        low, high = r["cpu_cost_range"]
        verdict = "PASS" if r["cpu_pass"] else "FAIL"
        print(
            f"{r['url']:<{width}}  {r['on_cpu_us']:>9.0f} {r['off_cpu_us']:>10.0f}"
            f" {f'{pct(low)}..{pct(high)}':>15}  {pct(r['cpu_cost']):>6}  {verdict}"
        )
    print(
        "CPU (user + system) of gunicorn's master and workers per request"
        " answered, from /proc; cost = 1 - off/on, the median of the rounds'."
    )
    print(f"the on gateway counted {report['on_counted_reads']:.0f} image reads")
    for r in rows:
        if r["errors"]:
            print(f"note: {r['url']}: {r['errors']} errors")


def print_inprocess(report: dict[str, Any]) -> None:
    print(
        f"\nin process: best of {report['batches']} batches of"
        f" {report['requests']} requests, µs per request; multiprocess mode"
        f" ({len(report['multiprocess_dir_files'])} files in"
        f" ${METRICS_ENV})"
    )
    rows = report["results"]
    width = max(len(r["url"]) for r in rows)
    print(
        f"{'url':<{width}}  {'(a) shipped':>11} {'(b) -metrics':>12}"
        f" {'(c) -ids too':>12}  {'metrics':>7} {'ids':>6} {'both':>6}  cloud calls"
    )
    for r in rows:
        us = r["us"]
        print(
            f"{r['url']:<{width}}  {us['shipped']:>11.1f} {us['metrics_off']:>12.1f}"
            f" {us['metrics_ids_off']:>12.1f}  {pct(r['metrics_cost']):>7}"
            f" {pct(r['request_ids_cost']):>6} {pct(r['both_cost']):>6}"
            f"  {r['cloud_calls_per_read']:g}"
        )
    print(
        "metrics = 1 - b/a, ids = 1 - c/b, both = 1 - c/a (of the rate);"
        " cloud calls: those counted per read."
    )
    print("\none call alone, µs (best of 5 x 20,000):")
    for name, us in report["unit_costs_us"].items():
        print(f"  {name:<42} {us:>7.3f}")
    for name, rows in report.get("profile", {}).items():
        print(f"\ncProfile, {name}, per XML read (own time, most first):")
        print(f"  {'own µs':>7} {'cum µs':>7} {'calls':>6}  function")
        for row in rows:
            print(
                f"  {row['own_us_per_request']:>7.2f} {row['cum_us_per_request']:>7.2f}"
                f" {row['calls_per_request']:>6g}  {row['function']}"
            )


def main() -> int:
    args = parse_args()
    # A plain `kill` unwinds like Ctrl-C, so the gateways are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # The machine is shared: its load says how much to trust the figures.
    report: dict[str, Any] = {"goal": GOAL, "loadavg_start": os.getloadavg()}
    try:
        with tempfile.TemporaryDirectory(prefix="cimi-bench-obs-") as work:
            if args.http:
                report["http"] = http_part(args, Path(work))
            log("in process")
            report["inprocess"] = inprocess_part(args, Path(work))
    except (StartError, subprocess.SubprocessError) as ex:
        print(f"bench: {ex}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    report["loadavg_end"] = os.getloadavg()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        "load average (1, 5, 15 min): "
        + ", ".join(f"{n:.2f}" for n in report["loadavg_start"])
        + " at start, "
        + ", ".join(f"{n:.2f}" for n in report["loadavg_end"])
        + " at end\n"
    )
    if "http" in report:
        print_http(report["http"])
    print_inprocess(report["inprocess"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
