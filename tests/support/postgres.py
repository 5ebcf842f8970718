"""A throwaway PostgreSQL server for the tests, from the machine's own binaries.

``start_postgres`` makes a cluster in a temporary folder (``initdb``, no
fsync), starts ``postgres`` on 127.0.0.1 at a free port (its socket in the
same folder) and makes one database; ``new_schema`` gives each test an empty
schema in it, ``migrated`` gives it the gateway's tables, ``new_database``
a pair of gateways a database of their own; ``stop_postgres`` ends the server
by its PID and removes the folder. PostgreSQL refuses to run as root: as
root, both run as ``nobody``, who owns the folder. Where no server binary is
found, or it does not start, ``start_postgres`` raises ``Unavailable``
saying why, and the tests that need it skip with that reason.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

HOST = "127.0.0.1"
#: where Debian puts each major version's server; the newest found is used.
DEBIAN_ROOT = Path("/usr/lib/postgresql")
#: a folder holding ``initdb`` and ``postgres``, instead of Debian's.
BIN_ENV = "CIMI_GATEWAY_POSTGRES_BIN"
#: who runs the server when the tests run as root.
UNPRIVILEGED = "nobody"
SUPERUSER = "postgres"
DATABASE = "cimi"
START_TIMEOUT = 30
#: a server zone far from UTC, so a time read back in the session's zone
#: instead of UTC shows in the tests.
TIMEZONE = "Pacific/Chatham"


class Unavailable(Exception):
    """No PostgreSQL server can run here; the message says what is missing."""


@dataclass(frozen=True)
class Postgres:
    """A running server: its postmaster, folder and the test database's URL."""

    process: subprocess.Popen
    folder: Path
    port: int
    password: str
    started_in: float  # seconds, initdb included

    def url(self, database: str = DATABASE) -> str:
        """Return the SQLAlchemy URL of ``database`` on this server."""
        return (
            f"postgresql+psycopg://{SUPERUSER}:{self.password}"
            f"@{HOST}:{self.port}/{database}"
        )

    def connect(self, database: str = "postgres") -> psycopg.Connection:
        """Return an autocommit psycopg connection to ``database``."""
        return psycopg.connect(
            host=HOST,
            port=self.port,
            user=SUPERUSER,
            password=self.password,
            dbname=database,
            autocommit=True,
            connect_timeout=10,
        )


def find_binaries() -> Path:
    """Return the folder holding ``initdb`` and ``postgres``.

    Raises:
        Unavailable: when there is none.
    """
    given = os.environ.get(BIN_ENV)
    if given:
        candidates = [Path(given)]
    else:
        versions = sorted(
            (p for p in DEBIAN_ROOT.glob("*/bin") if p.parent.name.isdigit()),
            key=lambda p: int(p.parent.name),
            reverse=True,
        )
        candidates = versions
    for folder in candidates:
        if all(os.access(folder / name, os.X_OK) for name in ("initdb", "postgres")):
            return folder
    where = given or f"{DEBIAN_ROOT}/<version>/bin"
    raise Unavailable(
        f"no PostgreSQL server binaries (initdb, postgres) in {where}: install "
        f"Debian's postgresql-15, or set {BIN_ENV} to the folder holding them"
    )


def _run_as() -> dict[str, Any]:
    """Return Popen's arguments that drop root, or none when not root."""
    if os.geteuid() != 0:
        return {}
    try:
        user = pwd.getpwnam(UNPRIVILEGED)
    except KeyError as ex:
        raise Unavailable(
            f"running as root, and no user '{UNPRIVILEGED}' to run PostgreSQL as "
            "(it refuses root)"
        ) from ex
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def _orphan_guard() -> list[str]:
    """Return the prefix that ends the server if the test run dies unasked.

    ``setpriv --pdeathsig`` execs the server in its place (same PID), which
    gets SIGQUIT, PostgreSQL's immediate shutdown, if pytest is killed
    before it can stop it. Without ``setpriv`` the server runs unguarded.
    """
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "QUIT"] if setpriv else []


def _run(start: Callable[..., Any], command: list[str], **options: Any) -> Any:
    """Return ``start(command, **options)``, or say why it cannot run."""
    try:
        return start(command, **options)
    except OSError as ex:
        who = f" as {UNPRIVILEGED}" if "user" in options else ""
        raise Unavailable(f"cannot run {command[0]}{who}: {ex}") from ex


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:])


def start_postgres() -> Postgres:
    """Start a new server with the database ``DATABASE``; see the module.

    Raises:
        Unavailable: when it cannot be started here.
    """
    started = time.monotonic()
    binaries = find_binaries()
    run_as = _run_as()
    folder = Path(tempfile.mkdtemp(prefix="cimi-gateway-pg-"))
    try:
        if run_as:
            os.chown(folder, run_as["user"], run_as["group"])
        password = secrets.token_hex(16)
        pwfile = folder / "pw"
        pwfile.write_text(password + "\n")
        if run_as:
            os.chown(pwfile, run_as["user"], run_as["group"])
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
        initdb = _run(
            subprocess.run,
            [str(binaries / "initdb"), "--pgdata", str(folder / "data")]
            + ["--username", SUPERUSER, "--pwfile", str(pwfile)]
            + ["--auth", "scram-sha-256", "--encoding", "UTF8", "--locale", "C"]
            + ["--no-sync", "--no-instructions"],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            **run_as,
        )
        if initdb.returncode != 0:
            raise Unavailable(
                f"initdb failed: {' '.join(initdb.stderr.split())[-600:]}"
            )
        server = _start_server(binaries, folder, env, run_as, password)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    try:
        with server.connect() as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
    except BaseException:
        stop_postgres(server)
        raise
    return Postgres(
        server.process, folder, server.port, password, time.monotonic() - started
    )


def _start_server(
    binaries: Path, folder: Path, env: dict, run_as: dict, password: str
) -> Postgres:
    # A free port can be taken between our look and the server's bind: try
    # another a few times.
    for _ in range(3):
        port = _free_port()
        log = folder / f"postgres-{port}.log"
        with open(log, "wb") as out:
            process = _run(
                subprocess.Popen,
                _orphan_guard()
                + [str(binaries / "postgres"), "-D", str(folder / "data")]
                + ["-h", HOST, "-p", str(port), "-k", str(folder)]
                + ["-c", "fsync=off", "-c", "synchronous_commit=off"]
                + ["-c", "full_page_writes=off", "-c", "max_connections=200"]
                + ["-c", f"timezone={TIMEZONE}", "-c", "log_min_messages=warning"],
                cwd=folder,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                **run_as,
            )
        server = Postgres(process, folder, port, password, 0.0)
        try:
            answered = _answers(server)
        except BaseException:
            _stop(process)
            raise
        if answered:
            return server
        if process.poll() is None:
            _stop(process)
            raise Unavailable(
                f"postgres did not answer within {START_TIMEOUT} s: {_tail(log)}"
            )
        if "could not bind" not in log.read_text(errors="replace"):
            raise Unavailable(f"postgres did not start: {_tail(log)}")
    raise Unavailable(f"postgres found no free port: {_tail(log)}")


def _answers(server: Postgres) -> bool:
    """Return whether ``server`` answers before it exits or time runs out."""
    deadline = time.monotonic() + START_TIMEOUT
    while server.process.poll() is None and time.monotonic() < deadline:
        try:
            server.connect().close()
        except psycopg.OperationalError:
            time.sleep(0.05)
            continue
        return True
    return False


def _stop(process: subprocess.Popen) -> None:
    # SIGINT is PostgreSQL's fast shutdown: sessions are ended, not awaited.
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def stop_postgres(server: Postgres) -> None:
    """Stop the server by its postmaster's PID, wait, and remove its folder."""
    try:
        if server.process.poll() is None:
            _stop(server.process)
    finally:
        shutil.rmtree(server.folder, ignore_errors=True)


def _connect(url: str) -> psycopg.Connection:
    """Return an autocommit psycopg connection to the database at ``url``."""
    parsed = make_url(url)
    return psycopg.connect(
        host=parsed.host,
        port=parsed.port,
        user=parsed.username,
        password=parsed.password,
        dbname=parsed.database,
        autocommit=True,
        connect_timeout=10,
    )


def new_database(url: str) -> str:
    """Make an empty database on the server at ``url``; return its URL.

    For gateways (other processes) rather than one test: a database has no
    ``search_path`` to carry in the URL, and is what a user would give them.
    """
    name = f"g_{secrets.token_hex(6)}"
    with _connect(url) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def new_schema(url: str) -> str:
    """Make an empty schema in the database at ``url``; return the URL whose
    sessions find it first (its ``search_path``), so a test sees only its
    own tables. A schema costs a millisecond, a database a few hundred."""
    name = f"t_{secrets.token_hex(6)}"
    with _connect(url) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    scoped = make_url(url).update_query_dict({"options": f"-csearch_path={name}"})
    return scoped.render_as_string(hide_password=False)


def migrated(url: str) -> str:
    """Return ``url`` once its database has the gateway's schema, made as
    an operator makes it (``cimi-gateway migrate`` runs the same upgrade)."""
    from gateway import migrations

    migrations.upgrade(url)
    return url
