"""Slow clients (slowloris): do a few byte-a-second clients starve the others?

Starts the gateway (the mock cloud at /cimi, ``delay = 0``) under each serving
configuration of ``--servers`` in turn. Opens ``--tricklers`` raw TCP
connections that each send a valid GET head one byte every ``--interval`` s
for the whole measurement; meanwhile, for ``--duration`` s, another client
makes ordinary GETs of /cimi/machine_images/img1 one after another with a
``--timeout`` (1 s), and counts how many were answered in time. Reports what
the server did with the tricklers: still open at the end, or closed, when.

    .venv/bin/python bench/slow_clients.py [--servers default,2x1] [--json]
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# The repository's root: for bench.*, and tests.support.moto.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.probe import run_probe
from bench.servers import HOST
from bench.servers import Servers
from bench.servers import StartError
from bench.servers import fetch
from bench.serving import MOCK_IMAGE
from bench.serving import NAMES
from bench.serving import parse_servings
from bench.serving import providers
from bench.serving import start_gateway
from bench.trickle import Tricklers

#: s between opening the tricklers and the first measured GET.
LEAD = 1.0


def measure(port: int, args: argparse.Namespace) -> dict[str, Any]:
    """The probe's figures while the tricklers trickle, and the tricklers'."""
    status, _, body = fetch(port, MOCK_IMAGE)  # before: the read works
    if status != 200:
        raise StartError(f"gateway: {MOCK_IMAGE.label} answered {status}: {body!r}")
    # Long enough that no head completes before the probe's last timeout.
    seconds = LEAD + args.duration + args.timeout + 2 * args.interval
    tricklers = Tricklers(port, MOCK_IMAGE, args.tricklers, args.interval, seconds)
    try:
        tricklers.start()
        start = time.time() + LEAD
        probe = run_probe(port, MOCK_IMAGE, start, start + args.duration, args.timeout)
    finally:
        reports = tricklers.stop()  # before the gateway stops: it may wait on them
    closed = [r["closed_after_s"] for r in reports if r["closed_after_s"] is not None]
    return {
        "probe": probe.as_dict(),
        "tricklers": {
            "count": args.tricklers,
            "head_bytes": len(tricklers.head),
            "open_at_end": sum(r["state"] == "open" for r in reports),
            "closed": len(closed),
            "closed_after_s": sorted(closed),
            "each": reports,
        },
    }


def benchmark(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    servers = Servers(work)
    results = []
    try:
        for serving in args.servings:
            print(f"serving: {serving.label}", file=sys.stderr)
            name, port = start_gateway(servers, work, serving, providers())
            row = measure(port, args)
            row["serving"] = serving.as_dict() | {"label": serving.label}
            row["worker_class_seen"] = servers.worker_class(name)
            results.append(row)
            servers.stop(name)
    finally:
        servers.stop_all()
    return {
        "tricklers": {
            "count": args.tricklers,
            "interval_s": args.interval,
            "request": MOCK_IMAGE.label,
        },
        "probe": {
            "request": MOCK_IMAGE.label,
            "timeout_s": args.timeout,
            "duration_s": args.duration,
            "after_s": LEAD,
        },
        "results": results,
    }


# -- output ----------------------------------------------------------------


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def trickler_line(tricklers: dict[str, Any]) -> str:
    line = f"open at the end: {tricklers['open_at_end']} of {tricklers['count']}"
    closed = tricklers["closed_after_s"]
    if closed:
        answers = {r["answer"] for r in tricklers["each"] if r["closed_after_s"]}
        said = ", ".join(repr(a) if a else "nothing" for a in sorted(answers, key=str))
        line += (
            f"; closed by the server: {len(closed)}, after {closed[0]:g}"
            f"-{closed[-1]:g} s, answering {said}"
        )
    others = {r["state"] for r in tricklers["each"]} - {"open", "closed by server"}
    if others:
        line += f" ({'; '.join(sorted(others))})"
    return line


def print_report(report: dict[str, Any]) -> None:
    trick, probe = report["tricklers"], report["probe"]
    print(
        f"tricklers: {trick['count']} connections, each sending a valid GET head"
        f" one byte every {trick['interval_s']:g} s (never complete in the run);"
        f" {HOST} only"
    )
    print(
        f"probe: {probe['request']} one after another, {probe['timeout_s']:g} s"
        f" timeout, for {probe['duration_s']:g} s, from {probe['after_s']:g} s after"
        " the tricklers opened"
    )
    for row in report["results"]:
        p = row["probe"]
        print(
            f"\n{row['serving']['label']} (gunicorn worker: {row['worker_class_seen']})"
        )
        print(
            f"  {'attempts':>8} {'in time':>8} {'timeouts':>8} {'errors':>6}"
            f" {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}  connection"
        )
        print(
            f"  {p['attempts']:>8} {p['requests']:>8} {p['timeouts']:>8}"
            f" {p['errors']:>6} {p['rps']:>7.1f} {ms(p['p50_ms']):>7}"
            f" {ms(p['p99_ms']):>7} {ms(p['max_ms']):>7}  {p['connection']}"
        )
        print(f"  tricklers: {trickler_line(row['tricklers'])}")
    print(
        f"\nin time: answered 200 within the {probe['timeout_s']:g} s timeout;"
        " latencies are of those."
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--servers",
        default="default,2x1",
        help=f"'all' or a comma-separated list of {', '.join(NAMES)}",
    )
    parser.add_argument("--tricklers", type=int, default=8, help="slow connections")
    parser.add_argument("--interval", type=float, default=2.0, help="s per byte")
    parser.add_argument("--duration", type=float, default=15.0, help="s of probing")
    parser.add_argument("--timeout", type=float, default=1.0, help="s per probe GET")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    try:
        args.servings = parse_servings(args.servers)
    except ValueError as ex:
        parser.error(str(ex))
    if args.tricklers < 0 or args.interval <= 0:
        parser.error("need --tricklers >= 0 and --interval > 0")
    if args.duration <= 0 or args.timeout <= 0:
        parser.error("need --duration > 0 and --timeout > 0")
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
