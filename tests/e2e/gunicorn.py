"""A real gateway under gunicorn on 127.0.0.1, started as a user would start it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

CLI = Path(sys.executable).parent / "cimi-gateway"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gateway:
    """``cimi-gateway serve`` in a child process; start, stop, start again.

    Args:
        config: the path of its TOML config.
        workers: gunicorn worker processes.
    """

    def __init__(self, config: Path, *, workers: int = 2) -> None:
        self.config = config
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = config.with_suffix(".log")
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> Gateway:
        args = [
            str(CLI),
            "serve",
            "--config",
            str(self.config),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
        ]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ)
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gateway exited: {self.log.read_text()}")
            try:
                requests.get(self.url + "/", timeout=1)
                return self
            # The master listens before its workers serve: on a busy machine
            # the first answer can take longer than the probe waits.
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gateway did not start: {self.log.read_text()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_instances(configs: list[Path], *, workers: int = 2) -> list[Gateway]:
    """Start one gateway per config, every config naming the same store.

    The one place a shared store is made ready for its gateways: ``cimi-gateway
    migrate`` runs once before any starts, as an operator rolls out (serve
    checks a PostgreSQL schema, it does not make it). A gateway that fails to
    start stops those already started.
    """
    subprocess.run(
        [str(CLI), "migrate", "--config", str(configs[0])],
        check=True,
        capture_output=True,
        timeout=60,
    )
    started: list[Gateway] = []
    try:
        for config in configs:
            started.append(Gateway(config, workers=workers).start())
    except BaseException:
        stop_all(started)
        raise
    return started


def stop_all(gateways: list[Gateway]) -> None:
    """Stop every gateway, each by its PID, even when one fails to stop."""
    failures: list[Exception] = []
    for gateway in gateways:
        try:
            gateway.stop()
        except Exception as ex:  # the others still get stopped
            failures.append(ex)
    if failures:
        raise failures[0]
