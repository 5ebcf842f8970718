"""Static auth: what a wrong password, an unknown user and an attack cost.

    .venv/bin/python bench/static_auth.py [--requests 30] [--attackers 40]
                                          [--duration 10] [--json]

Starts ``cimi-gateway serve`` (static auth, one user ``alice`` hashed as
``cimi-gateway hash-password`` does, the mock cloud at /cimi, the shipped
serving defaults) on 127.0.0.1 and measures, one request at a time:

- an unknown user (a new name each time), a known user with a wrong password
  (a new password each time, so no verdict is cached), the right password the
  first time and then again (its verdict cached);

then, with ``--attackers`` connections sending wrong passwords (each new) as
fast as they are answered, the latency of a legitimate client's reads.
Equal timing: the first two p50s should be alike. The attack: the legitimate
reads should stay near their unloaded latency.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import itertools
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.load import percentiles
from bench.servers import HOST
from bench.servers import Servers
from bench.servers import free_port
from bench.servers import venv_command
from gateway.auth import hash_password

PATH = "/cimi/machine_images/img1"
PASSWORD = "correct horse battery staple"


def header(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Accept": "application/xml"}


def timed_get(conn: http.client.HTTPConnection, headers: dict) -> tuple[int, float]:
    start = time.perf_counter()
    conn.request("GET", PATH, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status, time.perf_counter() - start


def series(port: int, headers: list[dict]) -> dict[str, Any]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    statuses, times = [], []
    for each in headers:
        status, seconds = timed_get(conn, each)
        statuses.append(status)
        times.append(seconds)
    conn.close()
    p50, p99 = percentiles(times)
    return {"statuses": sorted(set(statuses)), "p50_ms": p50, "p99_ms": p99}


def attack(port: int, attackers: int, seconds: float) -> dict[str, Any]:
    """Wrong passwords from ``attackers`` connections; legit reads beside."""
    stop = threading.Event()
    counter = itertools.count()
    refused = [0] * attackers
    shed = [0] * attackers

    def attacker(slot: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        while not stop.is_set():
            try:
                status, _ = timed_get(conn, header("alice", f"guess-{next(counter)}"))
                if status == 503:
                    shed[slot] += 1
                else:
                    refused[slot] += 1
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=60)
        conn.close()

    threads = [
        threading.Thread(target=attacker, args=(n,), daemon=True)
        for n in range(attackers)
    ]
    for thread in threads:
        thread.start()
    time.sleep(1)  # the attack is under way
    legit = http.client.HTTPConnection(HOST, port, timeout=60)
    times, statuses = [], set()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        status, took = timed_get(legit, header("alice", PASSWORD))
        statuses.add(status)
        times.append(took)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    p50, p99 = percentiles(times)
    return {
        "attackers": attackers,
        "wrong_passwords_refused": sum(refused),
        "wrong_passwords_shed": sum(shed),
        "legit_requests": len(times),
        "legit_statuses": sorted(statuses),
        "legit_p50_ms": p50,
        "legit_p99_ms": p99,
        "legit_max_ms": max(times) * 1e3,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--attackers", type=int, default=40)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-auth-") as work:
        folder = Path(work)
        port = free_port()
        (folder / "gateway.toml").write_text(
            f'[server]\nbind = "{HOST}:{port}"\naccess_log = false\n'
            f'[store]\npath = "{folder / "store.sqlite3"}"\n'
            '[auth]\nmode = "static"\n'
            f'[auth.users]\nalice = "{hash_password(PASSWORD)}"\n'
            '[providers.mock]\ndriver = "mock"\nmount = "/cimi"\ndelay = 0\n'
        )
        servers = Servers(folder)
        try:
            command = [*venv_command("cimi-gateway", "gateway.cli"), "serve"]
            servers.start(
                "gateway", [*command, "--config", str(folder / "gateway.toml")]
            )
            servers.wait_listening("gateway", port)
            n = args.requests
            report = {
                "unknown_user": series(
                    port, [header(f"nobody{i}", f"pw{i}") for i in range(n)]
                ),
                "wrong_password": series(
                    port, [header("alice", f"wrong{i}") for i in range(n)]
                ),
                "right_password_first": series(port, [header("alice", PASSWORD)]),
                "right_password_cached": series(port, [header("alice", PASSWORD)] * n),
                "under_attack": attack(port, args.attackers, args.duration),
            }
        finally:
            servers.stop_all()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print("one request at a time (p50 / p99 ms, statuses):")
    for name in (
        "unknown_user",
        "wrong_password",
        "right_password_first",
        "right_password_cached",
    ):
        row = report[name]
        print(
            f"  {name:24} {row['p50_ms']:8.2f} {row['p99_ms']:8.2f}  {row['statuses']}"
        )
    hit = report["under_attack"]
    print(
        f"under attack: {hit['attackers']} connections of wrong passwords "
        f"({hit['wrong_passwords_refused']} checked and refused, "
        f"{hit['wrong_passwords_shed']} shed with 503); a legitimate client's "
        f"{hit['legit_requests']} reads: p50 {hit['legit_p50_ms']:.2f} ms, "
        f"p99 {hit['legit_p99_ms']:.2f} ms, max {hit['legit_max_ms']:.2f} ms, "
        f"statuses {hit['legit_statuses']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
