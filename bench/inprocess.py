"""What the gateway's own code costs per mock read, called in process: no HTTP.

The gateway's WSGI app (mock cloud at /cimi, its own temp store) and a bare
``falcon.App`` returning the gateway's bytes are called directly with the
same environ, turn about, in ``--rounds`` batches of ``--requests``; the best
batch of each gives µs per request. Far steadier than the req/s ratios of
``bench/run.py`` on a shared 2-core machine, and what changes to the gateway's
code move; gunicorn's and the kernel's share of a request is not in it.

    .venv/bin/python bench/inprocess.py [--requests 500] [--rounds 10] [--json]
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import falcon

from bench.servers import write_config
from bench.serving import MOCK
from bench.serving import providers
from gateway import config as gateway_config
from gateway.app import create_app

XML, JSON = "application/xml", "application/json"
PATHS = (
    "/cimi/machine_images/img1",
    "/cimi/machine_images",
    "/cimi/machines",
    "/cimi/machine_configurations",
    "/cimi/cloudEntryPoint",
)
AUTHORIZATION = "Basic " + base64.b64encode(":".join(MOCK).encode()).decode()

App = Callable[[dict, Callable], Any]


def environ(path: str, accept: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_ACCEPT": accept,
        "HTTP_AUTHORIZATION": AUTHORIZATION,
    }


def call(app: App, path: str, accept: str) -> tuple[str, list, bytes]:
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list, exc_info: Any = None) -> None:
        answer["status"], answer["headers"] = status, headers

    body = b"".join(app(environ(path, accept), start_response))
    return answer["status"], answer["headers"], body


def bare_app(path: str, headers: list, body: bytes) -> falcon.App:
    content_type = {k.lower(): v for k, v in headers}["content-type"]

    class Recorded:
        def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
            resp.data, resp.content_type = body, content_type

    app = falcon.App()
    app.add_route(path, Recorded())
    return app


def best_us(app: App, path: str, accept: str, requests: int) -> float:
    started = time.perf_counter()
    for _ in range(requests):
        call(app, path, accept)
    return (time.perf_counter() - started) / requests * 1e6


def run(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    config_path = write_config(work, 8000, 1, 1, providers())
    gateway = create_app(gateway_config.load(str(config_path)))
    rows = []
    for accept in (XML, JSON):
        for path in PATHS:
            for _ in range(20):  # warm: caches, the seeded store
                status, headers, body = call(gateway, path, accept)
            if not status.startswith("200"):
                raise SystemExit(f"GET {path} ({accept}) answered {status}")
            bare = bare_app(path, headers, body)
            best = {"gateway": float("inf"), "bare": float("inf")}
            for _ in range(args.rounds):
                for name, app in (("gateway", gateway), ("bare", bare)):
                    us = best_us(app, path, accept, args.requests)
                    best[name] = min(best[name], us)
            kind = "JSON" if accept == JSON else "XML"
            rows.append(
                {
                    "url": f"GET {path} {kind}",
                    "bytes": len(body),
                    "gateway_us": round(best["gateway"], 1),
                    "bare_us": round(best["bare"], 1),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cimi-inprocess-") as work:
        rows = run(args, Path(work))
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(
        f"in process, best of {args.rounds} batches of {args.requests} "
        "requests, µs per request"
    )
    width = max(len(row["url"]) for row in rows)
    print(f"{'url':<{width}}  {'bytes':>6}  {'gateway':>8}  {'bare':>6}")
    for row in rows:
        print(
            f"{row['url']:<{width}}  {row['bytes']:>6}  {row['gateway_us']:>8.1f}"
            f"  {row['bare_us']:>6.1f}"
        )


if __name__ == "__main__":
    main()
