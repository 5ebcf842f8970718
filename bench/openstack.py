"""The gateway in front of a real OpenStack: added latency and /machines throughput.

Boots the tests' OpenStack stack (``tests/support/openstack.py``: Keystone,
Glance, Placement, Nova with the fake hypervisor, on 127.0.0.1; installed once
into the user's cache directory), launches ``--servers`` servers in it, then
starts ``cimi-gateway serve`` (the shipped ``[server]`` shape, the listing
cache off, so every read reaches Nova) with the openstack provider at
``/cimi/openstack``, and the bare app replaying the gateway's bytes.

- Added latency (``bench/latency.py``): ``GET /cimi/openstack/machines``
  against ``GatewayOpenStackNodeDriver.list_nodes()`` and ``GET
  .../machine_configurations`` against the provider's call, one request at a
  time, interleaved; goal: gateway p50 - direct p50 <= 1.5 ms.
- Throughput: ``GET /cimi/openstack/machines`` under 4 concurrent clients
  (wrk when installed, else the Python generator), gateway and bare app; and
  ``direct``: the provider's listing from 4 threads in this process, what Nova
  itself gives that many callers.

Everything it starts is stopped by PID at the end.

    .venv/bin/python bench/openstack.py [--duration 10] [--servers 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import latency
from bench.load import percentiles
from bench.load import run_python
from bench.load import run_wrk
from bench.servers import HOST
from bench.servers import Servers
from bench.servers import Target
from bench.servers import check_same
from bench.servers import free_port
from bench.servers import record
from bench.servers import venv_command
from bench.servers import write_config
from bench.serving import shipped_default
from gateway import config as gateway_config
from providers.base import Credentials
from providers.registry import provider_class
from tests.support.openstack import IMAGE_NAME
from tests.support.openstack import libcloud_driver
from tests.support.openstack import start_openstack
from tests.support.openstack import stop_openstack

ROOT = Path(__file__).resolve().parents[1]
MOUNT = "/cimi/openstack"
CLIENTS = 4


def pairs(config_path: Path, machines: Target, configs: Target) -> list[latency.Pair]:
    config = gateway_config.load(config_path)
    [entry] = [e for e in config.providers if e.name == "openstack"]
    provider = provider_class(entry.driver)(entry.name, entry.settings, None)
    creds = Credentials(*machines.credentials)
    driver = provider.driver(creds)
    return [
        latency.Pair(
            machines, f"{type(driver).__name__}.list_nodes()", driver.list_nodes
        ),
        latency.Pair(
            configs,
            "OpenStackProvider.list_machine_configurations()",
            lambda: provider.list_machine_configurations(creds),
        ),
    ]


def direct_throughput(config_path: Path, target: Target, seconds: int) -> dict:
    """The provider's machine listing from CLIENTS threads of this process,
    each with its own driver, as gateway threads have: what Nova itself
    serves to that many callers."""
    config = gateway_config.load(config_path)
    [entry] = [e for e in config.providers if e.name == "openstack"]
    provider = provider_class(entry.driver)(entry.name, entry.settings, None)
    creds = Credentials(*target.credentials)
    times: list[float] = []
    errors = [0]
    stop = time.monotonic() + seconds

    def client() -> None:
        provider.list_machines(creds)  # this thread's driver, authenticated
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                provider.list_machines(creds)
            except Exception:
                errors[0] += 1
                continue
            times.append(time.perf_counter() - started)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    p50, p99 = percentiles(times)
    return {
        "requests": len(times),
        "errors": errors[0],
        "rps": len(times) / seconds,
        "p50_ms": p50,
        "p99_ms": p99,
    }


def launch(stack: Any, count: int) -> list[Any]:
    driver = libcloud_driver(stack)
    size = next(s for s in driver.list_sizes() if s.name == "m1.tiny")
    image = next(i for i in driver.list_images() if i.name == IMAGE_NAME)
    nodes = [
        driver.create_node(name=f"bench-{n}", size=size, image=image)
        for n in range(count)
    ]
    # The Neutron double gives private addresses only: wait on the state.
    driver.wait_until_running(
        nodes, wait_period=1, timeout=120, ssh_interface="private_ips"
    )
    return nodes


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    stack = start_openstack()
    servers = Servers(work)
    nodes: list[Any] = []
    try:
        nodes = launch(stack, args.servers)
        serving = shipped_default()
        port, bare_port = free_port(), free_port()
        table = {
            "driver": "openstack",
            "mount": MOUNT,
            "auth_url": stack.auth_url,
            "project": stack.project,
            "region": stack.region,
        }
        config = write_config(
            work, port, serving.workers, serving.threads, {"openstack": table}
        )
        with config.open("a") as file:
            file.write("[cache]\nlisting_seconds = 0\n")
        creds = (stack.username, stack.password)
        machines = Target(f"{MOUNT}/machines", creds, "openstack")
        configs = Target(f"{MOUNT}/machine_configurations", creds, "openstack")
        command = [*venv_command("cimi-gateway", "gateway.cli"), "serve"]
        servers.start("gateway", [*command, "--config", str(config)])
        servers.wait_ready("gateway", port, machines)
        targets = (machines, configs)
        recorded = record(port, targets)
        responses = work / "responses.json"
        responses.write_text(json.dumps(recorded))
        bare = [sys.executable, str(ROOT / "bench" / "bare_app.py")]
        bare += ["--config", str(config), "--responses", str(responses)]
        servers.start("bare", [*bare, "--bind", f"{HOST}:{bare_port}"])
        servers.wait_ready("bare", bare_port, machines)
        check_same(bare_port, targets, recorded)

        added = latency.measure(
            pairs(config, machines, configs),
            port,
            bare_port,
            requests=args.requests,
            warmup=30,
            round_size=10,
        )
        load = run_wrk if shutil.which("wrk") else run_python
        args.threads, args.connections = 2, CLIENTS
        throughput = {}
        for name, at in (("gateway", port), ("bare", bare_port)):
            load(at, machines, 1, args)
            throughput[name] = load(at, machines, args.duration, args).as_dict()
        throughput["direct"] = direct_throughput(config, machines, args.duration)
        return {
            "servers_in_nova": len(nodes),
            "serving": serving.as_dict(),
            "added_latency": added,
            "throughput": {
                "url": machines.label,
                "clients": CLIENTS,
                "generator": "wrk" if shutil.which("wrk") else "python",
                "duration_s": args.duration,
                **throughput,
            },
        }
    finally:
        servers.stop_all()
        if nodes:
            driver = libcloud_driver(stack)
            for node in nodes:
                driver.destroy_node(node)
        stop_openstack(stack.state)


def report(result: dict[str, Any]) -> str:
    lines = [f"OpenStack: {result['servers_in_nova']} servers in Nova"]
    for row in result["added_latency"]["results"]:
        lines.append(
            f"{row['url']}: gateway p50 {row['gateway']['p50_ms']:.2f} ms, "
            f"bare {row['bare']['p50_ms']:.2f}, direct {row['direct']['p50_ms']:.2f}"
            f" ({row['direct_call']}): added {row['added_p50_ms']:.2f} ms "
            f"({'PASS' if row['pass'] else 'FAIL'} vs <= {latency.TARGET_ADDED_MS})"
        )
    t = result["throughput"]
    for name in ("gateway", "bare", "direct"):
        r = t[name]
        lines.append(
            f"{t['url']}, {t['clients']} clients ({t['generator']}, "
            f"{t['duration_s']} s), {name}: {r['rps']:.1f} req/s, "
            f"p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, errors {r['errors']}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--servers", type=int, default=3)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cimi-openstack-bench-") as work:
        result = run(args, Path(work))
    print(json.dumps(result, indent=2) if args.json else report(result))


if __name__ == "__main__":
    main()
