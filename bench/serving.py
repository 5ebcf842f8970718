"""The gateway as the benches start it, under several serving configurations.

A ``Serving`` is a ``[server]`` table's ``workers`` and ``threads``; every one
runs the gateway's own worker (``gateway.serving.CimiThreadWorker``, gunicorn's
``gthread`` with a request-read deadline), so ``2x1`` is the old default's shape
(2 processes, one request each), not its sync worker. ``default`` is what the shipped
config gives, read through ``gateway.config.load()`` at run time, so the
benches follow the code when the default changes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.servers import Servers
from bench.servers import Target
from bench.servers import free_port
from bench.servers import venv_command
from bench.servers import write_config
from gateway import config as gateway_config
from tests.support.moto import REGION

MOCK = ("mockuser", "mockpassword")
MOCK_MOUNT = "/cimi"
EC2_MOUNT = "/cimi/ec2"
READY_PATH = f"{MOCK_MOUNT}/cloudEntryPoint"
MOCK_IMAGE = Target(f"{MOCK_MOUNT}/machine_images/img1", MOCK, "mock")


@dataclass(frozen=True)
class Serving:
    name: str
    workers: int
    threads: int

    #: the class ``gateway.cli.gunicorn_options`` runs, whatever the shape.
    worker_class = "CimiThreadWorker"

    @property
    def slots(self) -> int:
        """How many requests it serves at once."""
        return self.workers * self.threads

    @property
    def label(self) -> str:
        shape = f"{self.workers}x{self.threads}"
        return shape if self.name == shape else f"{self.name} ({shape})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "workers": self.workers,
            "threads": self.threads,
            "worker_class": self.worker_class,
        }


FIXED = {
    s.name: s
    for s in (
        Serving("2x1", 2, 1),
        Serving("8x1", 8, 1),
        Serving("2x4", 2, 4),
        Serving("2x16", 2, 16),
    )
}
NAMES = ("default", *FIXED)


def shipped_default() -> Serving:
    """The ``[server]`` of the config ``cimi-gateway serve`` uses by default."""
    # load() reads $CIMI_GATEWAY_CONFIG first: not the shipped default.
    saved = os.environ.pop(gateway_config.ENV_VAR, None)
    try:
        config = gateway_config.load()
    finally:
        if saved is not None:
            os.environ[gateway_config.ENV_VAR] = saved
    return Serving("default", config.workers, config.threads)


def parse_servings(text: str) -> list[Serving]:
    """``all`` or a comma-separated list of NAMES, in that order."""
    names = list(NAMES) if text == "all" else [n.strip() for n in text.split(",")]
    names = list(dict.fromkeys(names))  # each once
    unknown = [n for n in names if n not in NAMES]
    if unknown or not names:
        raise ValueError(f"unknown --servers {', '.join(unknown)}: one of {NAMES}")
    return [shipped_default() if n == "default" else FIXED[n] for n in names]


def providers(ec2_endpoint: str | None = None) -> dict[str, dict[str, Any]]:
    """The [providers.NAME] tables: mock at /cimi, ec2 when given an endpoint."""
    tables: dict[str, dict[str, Any]] = {
        "mock": {"driver": "mock", "mount": MOCK_MOUNT, "delay": 0},
    }
    if ec2_endpoint:
        tables["ec2"] = {
            "driver": "ec2",
            "mount": EC2_MOUNT,
            "region": REGION,
            "endpoint": ec2_endpoint,
        }
    return tables


def start_gateway(
    servers: Servers, work: Path, serving: Serving, tables: dict[str, Any]
) -> tuple[str, int]:
    """Start ``cimi-gateway serve`` with ``serving``, its own config and store.

    Returns:
        The name it runs under in ``servers``, and its port.
    """
    name = f"gateway-{serving.name}"
    folder = work / name
    folder.mkdir()
    port = free_port()
    config = write_config(folder, port, serving.workers, serving.threads, tables)
    command = [*venv_command("cimi-gateway", "gateway.cli"), "serve"]
    servers.start(name, [*command, "--config", str(config)])
    servers.wait_ready(name, port, Target(READY_PATH, MOCK, "mock"))
    return name, port
