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
            except (requests.ConnectionError, requests.Timeout):
                # Listening, but no worker has built its app yet (a busy
                # machine): ask again.
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
