"""The servers ``bench/run.py`` starts, and the requests it checks them with.

Every child (the gateway's gunicorn, the bare app's, moto) runs in its own
session with its output in a log file of the run's temp dir, and is stopped by
``Servers.stop_all``.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
# Headers of the gateway's answer that the bare app sends back too.
MIRRORED = ("Content-Type", "ETag", "CIMI-Specification-Version", "Cache-Control")


@dataclass(frozen=True)
class Target:
    """One benchmarked request: GET ``path`` as ``credentials``.

    ``provider`` names the config's provider that serves it.
    """

    path: str
    credentials: tuple[str, str]
    provider: str
    accept: str = "application/xml"

    @property
    def label(self) -> str:
        kind = "JSON" if "json" in self.accept else "XML"
        return f"GET {self.path} {kind}"

    def headers(self) -> dict[str, str]:
        token = base64.b64encode(":".join(self.credentials).encode()).decode()
        return {"Authorization": f"Basic {token}", "Accept": self.accept}


class StartError(Exception):
    """A server did not come up, or answered something unusable."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def venv_command(script: str, module: str) -> list[str]:
    """Return the venv's ``script``, else ``python -m module``."""
    path = Path(sys.executable).parent / script
    return [str(path)] if path.exists() else [sys.executable, "-m", module]


def write_config(
    directory: Path,
    port: int,
    workers: int,
    threads: int,
    providers: Mapping[str, Mapping[str, Any]],
) -> Path:
    """Write the gateway's config: passthrough auth, ``[providers.NAME]`` each."""
    lines = [
        "[server]",
        f'bind = "{HOST}:{port}"',
        f"workers = {workers}",
        f"threads = {threads}",
        "[store]",
        f"path = {json.dumps(str(directory / 'store.sqlite3'))}",
        "[auth]",
        'mode = "passthrough"',
    ]
    for name, settings in providers.items():
        lines.append(f"[providers.{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    path = directory / "gateway.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


class Servers:
    """Child servers, each in its own session, all terminated on exit."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(
        self, name: str, argv: list[str], env: Mapping[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        with open(self.logs / f"{name}.log", "wb") as log:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=None if env is None else dict(env),
                start_new_session=True,
            )
        self.procs[name] = proc
        return proc

    def wait_until(self, name: str, ready: Callable[[], bool], what: str) -> None:
        """Poll ``ready`` for 30 s while ``name`` runs; exceptions mean no."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if (code := self.procs[name].poll()) is not None:
                raise StartError(f"{name} exited with {code}:\n{self.tail(name)}")
            try:
                if ready():
                    return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.2)
        raise StartError(f"{name}: {what}:\n{self.tail(name)}")

    def wait_ready(self, name: str, port: int, target: Target) -> None:
        self.wait_until(
            name,
            lambda: fetch(port, target)[0] == 200,
            f"no 200 for {target.label}",
        )

    def wait_listening(self, name: str, port: int) -> None:
        def listening() -> bool:
            with socket.create_connection((HOST, port), timeout=1):
                return True

        self.wait_until(name, listening, f"nothing listens on port {port}")

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def tail(self, name: str) -> str:
        return "\n".join(self.log(name).splitlines()[-20:])

    def worker_class(self, name: str) -> str:
        match = re.search(r"Using worker: (\S+)", self.log(name))
        return match.group(1) if match else "?"

    def stop(self, name: str) -> None:
        """Stop one server (by its PID) before the run goes on without it."""
        proc = self.procs.pop(name)
        if proc.poll() is None:
            proc.terminate()
        _reap(proc)

    def stop_all(self) -> None:
        # A second Ctrl-C must not cut the clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            _reap(proc)


def _reap(proc: subprocess.Popen[bytes]) -> None:
    """Wait for a terminated server; kill its session if it lingers."""
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # master and workers
        proc.wait()


def fetch(port: int, target: Target) -> tuple[int, list[tuple[str, str]], bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request("GET", target.path, headers=target.headers())
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read()
    finally:
        conn.close()


def record(port: int, targets: tuple[Target, ...]) -> dict[str, Any]:
    """Fetch each target from the gateway: the bare app's responses file."""
    recorded: dict[str, Any] = {}
    wanted = {name.lower() for name in MIRRORED}
    for target in targets:
        status, headers, body = fetch(port, target)
        if status != 200:
            raise StartError(f"gateway: {target.label} answered {status}: {body!r}")
        kept = [[name, value] for name, value in headers if name.lower() in wanted]
        recorded.setdefault(target.path, {})[target.accept] = {
            "headers": kept,
            "body": base64.b64encode(body).decode(),
        }
    return recorded


def check_same(port: int, targets: tuple[Target, ...], recorded: dict) -> None:
    """Fail unless the bare app answers each target as the gateway did."""
    for target in targets:
        status, headers, body = fetch(port, target)
        want = recorded[target.path][target.accept]
        got = {name.lower(): value for name, value in headers}
        same_headers = all(got.get(n.lower()) == v for n, v in want["headers"])
        if status != 200 or not same_headers or body != base64.b64decode(want["body"]):
            raise StartError(f"bare app: {target.label} differs from the gateway's")
