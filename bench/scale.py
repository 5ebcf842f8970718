"""How the gateway's collection reads grow with the collection: the mock cloud
seeded with 1,000 and with 10,000 images.

Writes a config with two mock mounts, ``/cimi/small`` and ``/cimi/large``, on
one store, and puts the images straight into that store before the gateway
starts (the mock's own seeding then finds its namespace seeded and leaves it
be). Starts ``cimi-gateway serve`` under the shipped ``[server]`` shape, then,
one request after another on one keep-alive connection, times on each mount:

- the whole collection, XML and JSON;
- a page (``$first=1&$last=50``), and the last page of the collection;
- a ``$filter`` that matches one image;

and prints each request's median latency, with the ratios the scale targets
are stated in: full 10k/1k (linear means about 10, target at most 12), page
10k/1k (about 1), the one-match filter against the listing (about 1 or less).
Last, the resident memory (VmRSS) of each gunicorn worker at rest and after
the large mount's full listings have been rendered.

    .venv/bin/python bench/scale.py [--small 1000] [--large 10000] \
        [--repeat 15] [--json]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.servers import HOST
from bench.servers import Servers
from bench.servers import StartError
from bench.servers import Target
from bench.servers import fetch
from bench.servers import free_port
from bench.servers import venv_command
from bench.servers import write_config
from bench.serving import MOCK
from bench.serving import shipped_default
from gateway.store import Store
from gateway.store import url_for_path
from providers.base import Credentials
from providers.mock import MockProvider
from providers.mock_driver import IMAGE
from providers.mock_driver import fixtures

XML, JSON = "application/xml", "application/json"
MOUNTS = {"small": "/cimi/small", "large": "/cimi/large"}


@dataclass(frozen=True)
class Case:
    label: str
    query: str
    accept: str = XML


def cases(size: int) -> list[Case]:
    """The requests timed on a mount holding ``size`` images."""
    last = f"$first={size - 49}&$last={size}"
    middle = image_id(size // 2)
    return [
        Case("full", ""),
        Case("full JSON", "", JSON),
        Case("page 1-50", "$first=1&$last=50"),
        Case("last page", last),
        Case("page 1-50 JSON", "$first=1&$last=50", JSON),
        Case("one-match filter", f"$filter=name='{middle}'"),
        Case("one-match filter JSON", f"$filter=name='{middle}'", JSON),
    ]


def image_id(number: int) -> str:
    return f"scale-{number:06d}"


def seed(store: Store, name: str, size: int) -> None:
    """Put ``size`` images (the mock's 3 fixtures among them) under mount ``name``."""
    provider = MockProvider(name, {"driver": "mock", "delay": 0}, store)
    namespace = provider.namespace(Credentials(*MOCK))
    created = "2026-01-01T00:00:00+00:00"
    data = fixtures()
    items = [
        (kind, record["id"], {**record, "created": created})
        for kind, key in ((IMAGE, "images"), ("machine", "machines"))
        for record in data[key]
    ]
    for number in range(size - len(data["images"])):
        id = image_id(number)
        record = {
            "id": id,
            "name": id,
            "description": f"Scale image {number} <of {size}> & co",
            "architecture": "x86_64",
            "owner": "scale",
            "status": "available",
            "created": created,
        }
        items.append((IMAGE, id, record))
    if not store.seed_once(namespace, items):
        raise StartError(f"{name}: the store's namespace was seeded already")


class Client:
    """One keep-alive connection, requests one after another."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection(HOST, port, timeout=120)
        self.headers = Target("/", MOCK, "mock").headers()

    def get(self, path: str, accept: str) -> tuple[float, int, bytes]:
        started = time.perf_counter()
        self.conn.request("GET", path, headers={**self.headers, "Accept": accept})
        resp = self.conn.getresponse()
        body = resp.read()
        return time.perf_counter() - started, resp.status, body

    def median_ms(self, path: str, accept: str, repeat: int) -> tuple[float, bytes]:
        self.get(path, accept)  # warm: imports, caches, the page cache
        times, body = [], b""
        for _ in range(repeat):
            seconds, status, body = self.get(path, accept)
            if status != 200:
                raise StartError(f"GET {path} answered {status}: {body[:300]!r}")
            times.append(seconds)
        return statistics.median(times) * 1000, body


def worker_rss_mib(master_pid: int) -> list[float]:
    """VmRSS of each of gunicorn's workers (the master's children), MiB."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text()
    sizes = []
    for pid in children.split():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(int(line.split()[1]) / 1024)
    return sizes


def count_of(body: bytes) -> int:
    return json.loads(body)["count"]


def run(args: argparse.Namespace) -> dict[str, Any]:
    sizes = {"small": args.small, "large": args.large}
    serving = shipped_default()
    servers = Servers(Path(args.work))
    try:
        port = free_port()
        tables = {
            name: {"driver": "mock", "mount": mount, "delay": 0}
            for name, mount in MOUNTS.items()
        }
        config = write_config(
            Path(args.work), port, serving.workers, serving.threads, tables
        )
        store = Store(url_for_path(str(Path(args.work) / "store.sqlite3")))
        for name, size in sizes.items():
            seed(store, name, size)
        store.engine.dispose()
        command = [*venv_command("cimi-gateway", "gateway.cli"), "serve"]
        proc = servers.start("gateway", [*command, "--config", str(config)])
        servers.wait_ready(
            "gateway", port, Target(f"{MOUNTS['small']}/cloudEntryPoint", MOCK, "mock")
        )
        # Every worker up and past its first request before RSS "at rest".
        for _ in range(4 * serving.workers):
            fetch(port, Target(f"{MOUNTS['small']}/cloudEntryPoint", MOCK, "mock"))
        time.sleep(0.5)
        rest = worker_rss_mib(proc.pid)

        client = Client(port)
        figures: dict[str, dict[str, float]] = {}
        for name, size in sizes.items():
            base = f"{MOUNTS[name]}/machine_images"
            _, body = client.median_ms(f"{base}?$select=id", JSON, 1)
            if count_of(body) != size:
                raise StartError(f"{name}: count {count_of(body)}, seeded {size}")
            for case in cases(size):
                path = f"{base}?{case.query}" if case.query else base
                ms, body = client.median_ms(path, case.accept, args.repeat)
                one_match = case.label.startswith("one-match") and case.accept == JSON
                if one_match and count_of(body) != 1:
                    raise StartError(f"{path}: matched {count_of(body)}, not 1")
                figures.setdefault(case.label, {})[name] = ms
        # Several full renders of the large mount on every worker (new
        # connections spread them), then the high-water RSS.
        large = f"{MOUNTS['large']}/machine_images"
        for _ in range(4 * serving.workers):
            for accept in (XML, JSON):
                fetch(port, Target(large, MOCK, "mock", accept))
        after = worker_rss_mib(proc.pid)
        return {
            "sizes": sizes,
            "serving": serving.as_dict(),
            "repeat": args.repeat,
            "median_ms": figures,
            "rss_mib": {"at_rest": rest, "after_large_render": after},
        }
    finally:
        servers.stop_all()


def report(result: dict[str, Any]) -> str:
    small, large = result["sizes"]["small"], result["sizes"]["large"]
    figures = result["median_ms"]
    lines = [
        f"mock, {small:,} and {large:,} images; median of {result['repeat']} "
        f"sequential GETs (ms), serving {result['serving']['name']}",
        f"{'request':<24}{small:>10,}{large:>10,}{'ratio':>8}",
    ]
    for label, by_size in figures.items():
        ratio = by_size["large"] / by_size["small"]
        lines.append(
            f"{label:<24}{by_size['small']:>10.2f}{by_size['large']:>10.2f}"
            f"{ratio:>8.2f}"
        )
    for accept in ("", " JSON"):
        full = figures[f"full{accept}"]["large"]
        one = figures[f"one-match filter{accept}"]["large"]
        lines.append(
            f"one-match filter / full listing{accept or ' XML'} at {large:,}: "
            f"{one / full:.2f}"
        )
    rss = result["rss_mib"]
    lines.append(
        "worker RSS (MiB): at rest "
        + ", ".join(f"{v:.1f}" for v in rss["at_rest"])
        + f"; after {large:,}-image renders "
        + ", ".join(f"{v:.1f}" for v in rss["after_large_render"])
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if min(args.small, args.large) < 50:
        parser.error("--small and --large: at least 50 images")
    with tempfile.TemporaryDirectory(prefix="cimi-scale-") as work:
        args.work = work
        result = run(args)
    print(json.dumps(result, indent=2) if args.json else report(result))


if __name__ == "__main__":
    main()
