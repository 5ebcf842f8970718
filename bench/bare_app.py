"""The bare Falcon app ``bench/run.py`` compares the gateway with.

It answers GET on each recorded path with the bytes and headers the gateway
sent for it, and nothing else: no middleware, no auth, no store. It runs under
the same gunicorn settings as the gateway, taken from the gateway's own config
through ``gateway.cli.gunicorn_options``, so only the app differs.

    python bench/bare_app.py --config GATEWAY.toml --responses R.json --bind H:P

``R.json`` maps each path, then each Accept it was asked with, to
``{"headers": [[name, value], ...], "body": B64}``.
"""

from __future__ import annotations

import argparse
import base64
import json
from pathlib import Path
from typing import Any

import falcon

from gateway import config as gateway_config
from gateway.cli import ConfiguredApplication
from gateway.cli import gunicorn_options


class Canned:
    """One path's recorded responses by Accept, served as they are
    (Authorization is ignored)."""

    def __init__(self, by_accept: dict[str, tuple[list, bytes]]) -> None:
        self.by_accept = by_accept

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        headers, body = self.by_accept[req.get_header("Accept") or ""]
        resp.set_headers(headers)
        resp.data = body


def load_responses(path: Path) -> dict[str, Canned]:
    raw = json.loads(path.read_text())
    return {
        url_path: Canned(
            {
                accept: (
                    [(name, value) for name, value in entry["headers"]],
                    base64.b64decode(entry["body"]),
                )
                for accept, entry in by_accept.items()
            }
        )
        for url_path, by_accept in raw.items()
    }


def create_app(responses: dict[str, Canned]) -> falcon.App:
    app = falcon.App()
    for url_path, resource in responses.items():
        app.add_route(url_path, resource)
    return app


class BareServer(ConfiguredApplication):
    def __init__(self, app: falcon.App, options: dict[str, Any]) -> None:
        self.app = app
        super().__init__(options)

    def load(self) -> falcon.App:
        return self.app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="the gateway's TOML config")
    parser.add_argument("--responses", required=True, type=Path)
    parser.add_argument("--bind", required=True, help="HOST:PORT")
    args = parser.parse_args()
    config = gateway_config.load(args.config)
    config = gateway_config.replace_server(config, bind=args.bind)
    options = gunicorn_options(config) | {"proc_name": "cimi-bench-bare"}
    BareServer(create_app(load_responses(args.responses)), options).run()


if __name__ == "__main__":
    main()
