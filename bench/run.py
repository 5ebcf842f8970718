"""Benchmark the gateway on the mock cloud against a bare Falcon app.

Starts ``cimi-gateway serve`` (2 workers) and ``bench/bare_app.py``, which serves
the gateway's own response bytes under the same gunicorn settings, loads each in
turn on 127.0.0.1 (wrk when installed, else a Python load generator) and prints
req/s, p50/p99 latency and the gateway/bare req/s ratio for every URL in TARGETS.

    .venv/bin/python bench/run.py --duration 10 [--json]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
WORKERS = 2
TARGET_RATIO = 0.6
CREDENTIALS = ("mockuser", "mockpassword")
# [providers.NAME] tables of the gateway's config.
PROVIDERS: dict[str, dict[str, Any]] = {"mock": {"driver": "mock", "mount": "/cimi"}}
READY_PATH = "/cimi/cloudEntryPoint"
# Headers of the gateway's answer that the bare app sends back too.
MIRRORED = ("Content-Type", "ETag", "CIMI-Specification-Version", "Cache-Control")


@dataclass(frozen=True)
class Target:
    """One benchmarked request: GET ``path`` as ``credentials``."""

    path: str
    credentials: tuple[str, str] = CREDENTIALS
    accept: str = "application/xml"

    @property
    def label(self) -> str:
        return f"GET {self.path}"

    def headers(self) -> dict[str, str]:
        token = base64.b64encode(":".join(self.credentials).encode()).decode()
        return {"Authorization": f"Basic {token}", "Accept": self.accept}


TARGETS: tuple[Target, ...] = (
    Target("/cimi/machine_images/img1"),
    Target("/cimi/machine_images"),
)

BENCH_DIR = Path(__file__).resolve().parent


class StartError(Exception):
    """A server did not come up, or answered something unusable."""


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


# -- servers ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def write_config(directory: Path, port: int, threads: int) -> Path:
    lines = [
        "[server]",
        f'bind = "{HOST}:{port}"',
        f"workers = {WORKERS}",
        f"threads = {threads}",
        "[store]",
        f"path = {json.dumps(str(directory / 'store.sqlite3'))}",
        "[auth]",
        'mode = "passthrough"',
    ]
    for name, settings in PROVIDERS.items():
        lines.append(f"[providers.{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    path = directory / "gateway.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


class Servers:
    """Child gunicorns, each in its own session, all terminated on exit."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        with open(self.logs / f"{name}.log", "wb") as log:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def wait_ready(self, name: str, port: int, target: Target) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if (code := self.procs[name].poll()) is not None:
                raise StartError(f"{name} exited with {code}:\n{self.tail(name)}")
            try:
                if fetch(port, target)[0] == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.2)
        raise StartError(f"{name}: no 200 for {target.label}:\n{self.tail(name)}")

    def tail(self, name: str) -> str:
        return "\n".join(self.log(name).splitlines()[-20:])

    def worker_class(self, name: str) -> str:
        match = re.search(r"Using worker: (\S+)", self.log(name))
        return match.group(1) if match else "?"

    def stop_all(self) -> None:
        # A second Ctrl-C must not cut the clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # master and workers
                proc.wait()


def fetch(port: int, target: Target) -> tuple[int, list[tuple[str, str]], bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", target.path, headers=target.headers())
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read()
    finally:
        conn.close()


def record(port: int) -> dict[str, Any]:
    """Fetch each target from the gateway: the bare app's responses file."""
    recorded: dict[str, Any] = {}
    for target in TARGETS:
        status, headers, body = fetch(port, target)
        if status != 200:
            raise StartError(f"gateway: {target.label} answered {status}: {body!r}")
        wanted = {name.lower() for name in MIRRORED}
        kept = [[name, value] for name, value in headers if name.lower() in wanted]
        recorded[target.path] = {
            "headers": kept,
            "body": base64.b64encode(body).decode(),
        }
    return recorded


def check_same(port: int, recorded: dict[str, Any]) -> None:
    for target in TARGETS:
        status, headers, body = fetch(port, target)
        want = recorded[target.path]
        got = {name.lower(): value for name, value in headers}
        same_headers = all(got.get(n.lower()) == v for n, v in want["headers"])
        if status != 200 or not same_headers or body != base64.b64decode(want["body"]):
            raise StartError(f"bare app: {target.label} differs from the gateway's")


# -- load generators -------------------------------------------------------


def percentiles(latencies: list[float]) -> tuple[float, float]:
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


# -- main ------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="s per run")
    parser.add_argument("--warmup", type=int, default=1, help="s before each run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2, help="load threads")
    parser.add_argument(
        "--server-threads",
        type=int,
        default=1,
        help="[server] threads of the gateway (>1: gthread workers, both apps)",
    )
    parser.add_argument("--load", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    if not (1 <= args.threads <= args.connections):
        parser.error("need 1 <= --threads <= --connections")
    if args.duration <= 0 or args.warmup < 0 or args.server_threads < 1:
        parser.error("need --duration > 0, --warmup >= 0, --server-threads >= 1")
    if args.load == "auto":
        args.load = "wrk" if shutil.which("wrk") else "python"
    elif args.load == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install wrk)")
    return args


def gateway_command() -> list[str]:
    script = Path(sys.executable).parent / "cimi-gateway"
    return [str(script)] if script.exists() else [sys.executable, "-m", "gateway.cli"]


def benchmark(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    servers = Servers(work)
    try:
        gw_port, bare_port = free_port(), free_port()
        config = write_config(work, gw_port, args.server_threads)
        command = [*gateway_command(), "serve", "--config", str(config)]
        servers.start("gateway", command)
        servers.wait_ready("gateway", gw_port, Target(READY_PATH))
        recorded = record(gw_port)
        responses = work / "responses.json"
        responses.write_text(json.dumps(recorded))
        bare = [sys.executable, str(BENCH_DIR / "bare_app.py"), "--config", str(config)]
        bare += ["--responses", str(responses), "--bind", f"{HOST}:{bare_port}"]
        servers.start("bare", bare)
        servers.wait_ready("bare", bare_port, TARGETS[0])
        check_same(bare_port, recorded)

        load = run_wrk if args.load == "wrk" else run_python
        results = []
        for target in TARGETS:
            row: dict[str, Any] = {"url": target.label}
            for name, port in (("gateway", gw_port), ("bare", bare_port)):
                print(f"loading {name}: {target.label}", file=sys.stderr)
                if args.warmup:
                    load(port, target, args.warmup, args)
                row[name] = load(port, target, args.duration, args).as_dict()
            ratio = row["gateway"]["rps"] / max(row["bare"]["rps"], 1e-9)
            row["ratio"] = round(ratio, 3)
            row["pass"] = row["ratio"] >= TARGET_RATIO
            results.append(row)
        return {
            "server": {
                "workers": WORKERS,
                "threads": args.server_threads,
                "worker_class": {n: servers.worker_class(n) for n in servers.procs},
            },
            "load": {
                "generator": args.load,
                "threads": args.threads,
                "connections": args.connections,
                "duration_s": args.duration,
                "warmup_s": args.warmup,
            },
            "target_ratio": TARGET_RATIO,
            "results": results,
        }
    finally:
        servers.stop_all()


def print_table(report: dict[str, Any]) -> None:
    server, load = report["server"], report["load"]
    classes = " ".join(f"{n}={c}" for n, c in server["worker_class"].items())
    print(
        f"gunicorn: workers={server['workers']} threads={server['threads']}"
        f" worker_class: {classes}"
    )
    print(
        f"load: {load['generator']}, {load['threads']} threads, {load['connections']}"
        f" connections, {load['duration_s']:g} s per run after {load['warmup_s']:g} s"
        f" warm-up, {HOST} only"
    )
    width = max(len(row["url"]) for row in report["results"])
    print(f"{'url':<{width}}  {'gateway':>26}  {'bare falcon':>26}")
    cols = f"{'req/s':>10} {'p50 ms':>7} {'p99 ms':>7}"
    print(f"{'':<{width}}  {cols}  {cols}  {'ratio':>6}  vs {report['target_ratio']}")
    for row in report["results"]:
        cells = [f"{row['url']:<{width}}"]
        for name in ("gateway", "bare"):
            r = row[name]
            cells.append(f"{r['rps']:>10.1f} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f}")
        verdict = "PASS" if row["pass"] else "FAIL"
        print("  ".join(cells) + f"  {row['ratio']:>6.3f}  {verdict}")
    for row in report["results"]:
        for name in ("gateway", "bare"):
            if row[name]["errors"]:
                print(f"note: {row['url']} on {name}: {row[name]['errors']} errors")


def main() -> int:
    args = parse_args()
    # A plain `kill` unwinds like Ctrl-C, so the gunicorns are stopped.
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
        print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
