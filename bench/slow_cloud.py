"""Head-of-line blocking: a slow cloud's callers against a fast mock read.

Starts a stand-in EC2 endpoint (``bench/standin_ec2.py``) that answers every
call after ``--cloud-latency`` ms, and the gateway with the mock cloud at
/cimi and ec2 on the stand-in at /cimi/ec2, under each serving configuration
of ``--servers`` in turn. For each, C clients GET /cimi/ec2/machines as fast as
they can while ONE other client reads /cimi/machine_images/img1 on the mock
in a loop; prints req/s and latencies of both, and errors.

    .venv/bin/python bench/slow_cloud.py [--concurrency 16,32] [--json]
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

# The repository's root: for bench.*, and tests.support.moto.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import standin_ec2
from bench.load import run_python
from bench.load import run_wrk
from bench.probe import run_probe
from bench.servers import HOST
from bench.servers import Servers
from bench.servers import StartError
from bench.servers import Target
from bench.servers import fetch
from bench.servers import free_port
from bench.serving import EC2_MOUNT
from bench.serving import MOCK_IMAGE
from bench.serving import NAMES
from bench.serving import Serving
from bench.serving import parse_servings
from bench.serving import providers
from bench.serving import start_gateway
from tests.support.moto import KEY
from tests.support.moto import REGION
from tests.support.moto import SECRET
from tests.support.moto import driver_for

ROOT = Path(__file__).resolve().parents[1]
CLOUD_READ = Target(f"{EC2_MOUNT}/machines", (KEY, SECRET), "ec2")
GOAL_MOCK_P99_MS = 50.0
#: the Python load generator starts its clients this long after it is called.
PROBE_LEAD = 0.5


def start_standin(servers: Servers, latency_ms: float) -> str:
    """Start the stand-in EC2 in a child process; check it with libcloud.

    Returns:
        Its ``http://127.0.0.1:PORT``.
    """
    port = free_port()
    argv = [sys.executable, str(ROOT / "bench" / "standin_ec2.py")]
    argv += ["--port", str(port), "--latency", str(latency_ms / 1e3)]
    servers.start("standin-ec2", [*argv, "--region", REGION])
    servers.wait_listening("standin-ec2", port)
    endpoint = f"http://{HOST}:{port}"
    # The driver the gateway's provider builds: GatewayEC2NodeDriver, SigV4.
    nodes = driver_for(endpoint).list_nodes()
    seen = {(n.id, n.state, n.extra.get("instance_type")) for n in nodes}
    want = {(i, "running", "t3.micro") for i in standin_ec2.INSTANCE_IDS}
    if len(want) != standin_ec2.INSTANCES or seen != want:
        raise StartError(f"stand-in EC2: libcloud lists {nodes}")
    return endpoint


def cloud_calls(endpoint: str) -> Counter[str]:
    """The stand-in's calls so far, by Action."""
    port = int(endpoint.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", standin_ec2.CALLS_PATH)
        return Counter(json.loads(conn.getresponse().read()))
    finally:
        conn.close()


def check_gateway(port: int) -> None:
    status, _, body = fetch(port, CLOUD_READ)
    text = body.decode("utf-8", "replace")
    if status != 200 or not all(i in text for i in standin_ec2.INSTANCE_IDS):
        raise StartError(f"gateway: {CLOUD_READ.label} answered {status}: {text}")


def measure(
    port: int, endpoint: str, concurrency: int, args: argparse.Namespace
) -> dict[str, Any]:
    """Load the cloud read with ``concurrency`` clients, the probe beside it."""
    load = run_wrk if args.load == "wrk" else run_python
    shape = argparse.Namespace(
        threads=min(args.load_threads, concurrency), connections=concurrency
    )
    if args.warmup:
        load(port, CLOUD_READ, args.warmup, shape)
    before = cloud_calls(endpoint)
    now = time.time()
    # The probe counts while the load surely runs: whichever generator it is.
    window = (now + PROBE_LEAD, now + args.duration)
    with ThreadPoolExecutor(max_workers=1) as pool:
        probe = pool.submit(run_probe, port, MOCK_IMAGE, *window)
        cloud = load(port, CLOUD_READ, args.duration, shape).as_dict()
        mock = probe.result().as_dict()
    calls = cloud_calls(endpoint) - before
    answered = max(cloud["requests"], 1)
    return {
        "concurrency": concurrency,
        "ec2": cloud,
        "mock": mock,
        "cloud_calls_per_request": {
            action: round(n / answered, 2) for action, n in sorted(calls.items())
        },
    }


def rate_goals(row: dict[str, Any], serving: Serving, latency_ms: float) -> None:
    """Add the figures' distance to the goals to ``row``."""
    busy = min(row["concurrency"], serving.slots)
    calls = sum(row["cloud_calls_per_request"].values()) or 1.0
    row["bound_rps"] = round(busy / (calls * latency_ms / 1e3), 1)
    row["of_bound"] = round(row["ec2"]["rps"] / row["bound_rps"], 3)
    p99 = row["mock"]["p99_ms"]
    row["mock_p99_ok"] = None if p99 is None else p99 < GOAL_MOCK_P99_MS


def benchmark(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    servers = Servers(work)
    try:
        endpoint = start_standin(servers, args.cloud_latency)
        results = []
        for serving in args.servings:
            print(f"serving: {serving.label}", file=sys.stderr)
            name, port = start_gateway(servers, work, serving, providers(endpoint))
            check_gateway(port)
            for concurrency in args.concurrency:
                print(f"  c={concurrency}", file=sys.stderr)
                row = measure(port, endpoint, concurrency, args)
                rate_goals(row, serving, args.cloud_latency)
                row["serving"] = serving.as_dict() | {"label": serving.label}
                row["worker_class_seen"] = servers.worker_class(name)
                results.append(row)
            servers.stop(name)
    finally:
        servers.stop_all()
    return {
        "cloud": {
            "standin": endpoint,
            "latency_ms": args.cloud_latency,
            "instances": list(standin_ec2.INSTANCE_IDS),
            "region": REGION,
        },
        "load": {
            "generator": args.load,
            "threads": args.load_threads,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "cloud_read": CLOUD_READ.label,
            "mock_read": MOCK_IMAGE.label,
        },
        "goals": {
            "ec2_rps": "scales with C up to the slots (workers x threads): toward"
            " bound_rps = min(C, slots) / (cloud calls per request x latency)",
            "mock_p99_ms_below": GOAL_MOCK_P99_MS,
        },
        "results": results,
    }


# -- output ----------------------------------------------------------------


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def print_report(report: dict[str, Any]) -> None:
    cloud, load = report["cloud"], report["load"]
    print(
        f"cloud: stand-in EC2 at {cloud['standin']}, {cloud['latency_ms']:g} ms per"
        f" call, {len(cloud['instances'])} instances; ec2 at {EC2_MOUNT}, mock at /cimi"
    )
    print(
        f"load: {load['generator']} ({load['threads']} threads), C clients on"
        f" {load['cloud_read']}, beside them 1 client on {load['mock_read']};"
        f" {load['duration_s']:g} s after {load['warmup_s']:g} s warm-up, {HOST}"
    )
    print(
        "goals: ec2 req/s scales with C up to the slots (workers x threads),"
        " toward its bound; mock read p99"
        f" < {report['goals']['mock_p99_ms_below']:g} ms"
    )
    rows = report["results"]
    width = max(len("configuration"), *(len(r["serving"]["label"]) for r in rows))
    print(
        f"{'':<{width}} {'':>3} {'':>5}  {'ec2 /machines':^38}  {'mock read':^31}"
        f"  {'errors':>8}"
    )
    print(
        f"{'configuration':<{width}} {'C':>3} {'slots':>5}  {'req/s':>7} {'p50':>6}"
        f" {'p99':>6} {'bound':>7} {'of it':>6}  {'req/s':>7} {'p50':>6} {'p99':>6}"
        f" {'<50ms':>5}  {'ec2/mock':>8}  mock connection"
    )
    for r in rows:
        ec2, mock, serving = r["ec2"], r["mock"], r["serving"]
        slots = serving["workers"] * serving["threads"]
        verdict = {True: "PASS", False: "FAIL", None: "-"}[r["mock_p99_ok"]]
        errors = f"{ec2['errors']}/{mock['errors'] + mock['timeouts']}"
        print(
            f"{serving['label']:<{width}} {r['concurrency']:>3} {slots:>5}"
            f"  {ec2['rps']:>7.1f} {ms(ec2['p50_ms']):>6} {ms(ec2['p99_ms']):>6}"
            f" {r['bound_rps']:>7.0f} {r['of_bound']:>6.0%}"
            f"  {mock['rps']:>7.1f} {ms(mock['p50_ms']):>6} {ms(mock['p99_ms']):>6}"
            f" {verdict:>5}  {errors:>8}  {mock['connection']}"
        )
    calls = {
        ", ".join(f"{a} {n:g}" for a, n in r["cloud_calls_per_request"].items())
        for r in rows
    }
    print(
        f"latencies in ms. bound: min(C, slots) requests at once, each taking only"
        f" its cloud calls ({' | '.join(sorted(calls))} per request, as counted by"
        f" the stand-in) x {cloud['latency_ms']:g} ms; of it: ec2 req/s / bound."
    )
    seen = {r["serving"]["label"]: r["worker_class_seen"] for r in rows}
    print(
        "worker class in gunicorn's log: "
        + ", ".join(f"{k}: {v}" for k, v in seen.items())
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--servers",
        default="all",
        help=f"'all' or a comma-separated list of {', '.join(NAMES)}",
    )
    parser.add_argument(
        "--concurrency", default="16", help="C, or a list of them: 16,32"
    )
    parser.add_argument("--cloud-latency", type=float, default=20.0, help="ms")
    parser.add_argument("--duration", type=int, default=10, help="s per run")
    parser.add_argument("--warmup", type=int, default=1, help="s before each run")
    parser.add_argument("--load", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--load-threads", type=int, default=2, help="load threads (python: processes)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    try:
        args.servings = parse_servings(args.servers)
        args.concurrency = [int(c) for c in args.concurrency.split(",")]
    except ValueError as ex:
        parser.error(str(ex))
    if min(args.concurrency) < 1 or args.load_threads < 1:
        parser.error("need --concurrency >= 1 and --load-threads >= 1")
    if args.duration <= PROBE_LEAD or args.warmup < 0 or args.cloud_latency <= 0:
        parser.error("need --duration >= 1, --warmup >= 0, --cloud-latency > 0")
    if args.load == "auto":
        args.load = "wrk" if shutil.which("wrk") else "python"
    elif args.load == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install wrk)")
    return args


def main() -> int:
    args = parse_args()
    # A plain `kill` unwinds like Ctrl-C, so the servers are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        with tempfile.TemporaryDirectory(prefix="cimi-bench-") as work:
            report = benchmark(args, Path(work))
    except (StartError, subprocess.SubprocessError) as ex:
        print(f"bench: {ex}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
