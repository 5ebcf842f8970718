"""The ``cimi-gateway`` command: serve the API under gunicorn, migrate the
store, hash passwords."""

from __future__ import annotations

import argparse
import getpass
import glob
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from typing import Any

from gunicorn.app.base import BaseApplication

from gateway import config as gateway_config
from gateway.auth import hash_password
from gateway.config import Config
from gateway.config import ConfigError

#: prometheus_client's folder for the counts of every worker.
METRICS_FOLDER_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: the PID of the master that made that folder (unset: the operator's).
METRICS_OWNER_ENV = "CIMI_GATEWAY_METRICS_OWNER"


class ConfiguredApplication(BaseApplication):
    """Gunicorn's own application class, set up from a dict of its settings.

    Subclasses say what ``load`` serves.
    """

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            # Settings newer than the installed gunicorn are skipped.
            if key in self.cfg.settings:
                self.cfg.set(key, value)


class GatewayServer(ConfiguredApplication):
    """Serve ``create_app(config)`` under gunicorn.

    Each worker builds its app after the fork, so no database connection or
    libcloud driver is ever shared between processes.
    """

    def __init__(self, config: Config, options: dict[str, Any]) -> None:
        self.config = config
        super().__init__(options)

    def load(self) -> Any:
        from gateway.app import create_app

        return create_app(self.config)


def gunicorn_options(config: Config) -> dict[str, Any]:
    """Return gunicorn settings for ``config``'s ``[server]`` table."""
    from gateway import serving

    metrics_port = None
    binds = [config.bind]
    if config.metrics_enabled and config.metrics_bind:
        binds.append(config.metrics_bind)
        metrics_port = int(config.metrics_bind.rsplit(":", 1)[1])
    options: dict[str, Any] = {
        "bind": binds,
        "workers": config.workers,
        # Threads, never sync workers: a request waiting on a slow cloud or
        # a slow client holds one thread, not a whole process.
        "worker_class": serving.worker_class(config.request_read_timeout, metrics_port),
        "threads": config.threads,
        "timeout": config.timeout,
        # On SIGTERM a worker stops accepting and answers what it has in
        # flight for as long as a request may take, then closes its store.
        "graceful_timeout": config.timeout,
        "proc_name": "cimi-gateway",
        "loglevel": config.log_level,
        "logger_class": serving.logger_class(config.log_format),
        "access_log_format": serving.ACCESS_LOG_FORMAT,
        "accesslog": "-" if config.access_log else None,
        "when_ready": announcer(config),
        "post_worker_init": worker_ready,
        "worker_exit": close_worker_stores,
        "child_exit": forget_worker_metrics,
        # NOTE(gw): gunicorn 27's control socket sits at one fixed path per
        # user, so a second gateway on the same machine would take it over.
        "control_socket_disable": True,
    }
    return options


def worker_ready(worker: Any) -> None:
    """Send the gateway's own log lines where gunicorn's error log goes, and
    say the worker's app is built.

    A ``post_worker_init`` hook, so plain gunicorn (``config/gunicorn.conf.py``)
    and ``cimi-gateway serve`` log alike.
    """
    gunicorn_log = logging.getLogger("gunicorn.error")
    gateway_log = logging.getLogger("gateway")
    gateway_log.handlers = gunicorn_log.handlers
    gateway_log.setLevel(gunicorn_log.level)
    gateway_log.propagate = False
    gateway_log.info("worker %s: ready", worker.pid)


def close_worker_stores(server: Any, worker: Any) -> None:
    """Close the stores a stopping worker opened (gunicorn's ``worker_exit``)."""
    from gateway.app import close_stores

    if close_stores():
        worker.log.info("worker %s: store closed", worker.pid)


def forget_worker_metrics(server: Any, worker: Any) -> None:
    """Drop a dead worker's live metrics (gunicorn's ``child_exit``).

    Not through ``gateway.metrics``: importing that in the master would make
    the master's own (empty) metric files.
    """
    if os.environ.get(METRICS_FOLDER_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def prepare_metrics_folder() -> Callable[[], None]:
    """Give this process and the workers it forks a folder to count metrics in.

    prometheus_client picks its multiprocess mode at its first import, from
    ``$PROMETHEUS_MULTIPROC_DIR``: so this runs in gunicorn's master, before
    anything imports it. Return what removes the folder this made, if any:
    only the master that made it, when it exits, removes it.

    - An operator's folder is used, emptied of a past run's files (they would
      add to this run's counts): one folder per gateway.
    - A folder this master made already is kept as it is: plain gunicorn
      reads its config file again on SIGHUP, and the workers it keeps count
      on.
    - A folder another master made (a master started by USR2 inherits the
      old one's environment while the old one still runs) is left to it:
      this master makes its own.
    """
    master = str(os.getpid())
    given = os.environ.get(METRICS_FOLDER_ENV)
    owner = os.environ.get(METRICS_OWNER_ENV)
    if given and owner == master:
        return _discards.get(given, _keep)
    if given and owner is None:
        os.makedirs(given, exist_ok=True)
        for stale in glob.glob(os.path.join(given, "*.db")):
            os.remove(stale)
        return _keep
    made = tempfile.mkdtemp(prefix="cimi-gateway-metrics-")
    os.environ[METRICS_FOLDER_ENV], os.environ[METRICS_OWNER_ENV] = made, master

    def discard() -> None:
        # A worker is forked inside gunicorn's run, and unwinds through the
        # caller's ``finally`` when it exits: only the master removes it.
        if str(os.getpid()) == master:
            shutil.rmtree(made, ignore_errors=True)

    _discards[made] = discard
    return discard


def _keep() -> None:
    """Remove nothing (the folder is the operator's, or another master's)."""


#: what removes each folder this process made, by folder.
_discards: dict[str, Callable[[], None]] = {}


def version() -> str:
    """Return the installed version of cimi-gateway."""
    try:
        return metadata.version("cimi-gateway")
    except metadata.PackageNotFoundError:
        return "unknown"


def startup_lines(config: Config, urls: list[str]) -> list[str]:
    """Return what the gateway says when it starts: where, what, how to log in."""
    base = config.public_url or (urls[0] if urls else f"http://{config.bind}")
    lines = [
        f"cimi-gateway {version()} listening on {', '.join(urls) or config.bind} "
        f"({config.workers} workers x {config.threads} threads)"
    ]
    for entry in config.providers:
        line = f"  {entry.name} ({entry.driver}) at {base}{entry.mount}/cloudEntryPoint"
        if entry.driver == "mock" and config.auth_mode == "passthrough":
            line += " - demo credentials: mockuser / mockpassword"
        lines.append(line)
    if config.auth_mode == "static":
        lines.append("  clients log in as the users of [auth.users]")
    return lines


def announcer(config: Config) -> Any:
    """Return gunicorn's ``when_ready`` hook, printing ``startup_lines``."""

    def when_ready(server: Any) -> None:
        urls = [str(listener) for listener in getattr(server, "LISTENERS", [])]
        for line in startup_lines(config, urls):
            server.log.info("%s", line)

    return when_ready


@contextmanager
def _store_errors(url: str) -> Iterator[None]:
    """Turn what stops the store opening into one ``ConfigError`` line."""
    from sqlalchemy.exc import SQLAlchemyError

    from gateway.migrations import SchemaError
    from gateway.store import check_url

    try:
        yield
    except SchemaError as ex:
        raise ConfigError(f"store: {ex}") from ex
    except (OSError, SQLAlchemyError) as ex:
        # The URL's password stays out of the line; the driver's message
        # (which host, which user, what it said) goes in, on one line.
        where = check_url(url).render_as_string(hide_password=True)
        reason = " ".join(str(ex).split())
        raise ConfigError(f"store: cannot open {where}: {reason}") from ex


def check_store(config: Config) -> None:
    """Open the store once, so a bad path or schema stops start-up with one line.

    A SQLite store is brought up to date here, as every opening does. A
    PostgreSQL store is only checked: its schema changes when the operator
    runs ``cimi-gateway migrate``, not when some gateway happens to start.
    """
    from gateway import migrations
    from gateway.store import Store
    from gateway.store import check_url

    with _store_errors(config.store_url):
        if check_url(config.store_url).get_backend_name() == "sqlite":
            Store(config.store_url).close()
        else:
            migrations.check(config.store_url)


def migrate(args: argparse.Namespace) -> int:
    from gateway import migrations

    config = gateway_config.load(args.config)
    with _store_errors(config.store_url):
        done = migrations.upgrade(config.store_url)
    print(done.line())
    return 0


def serve(args: argparse.Namespace) -> int:
    config = gateway_config.replace_server(
        gateway_config.load(args.config),
        bind=args.bind,
        workers=args.workers,
        threads=args.threads,
        log_level=args.log_level,
    )
    check_store(config)
    discard = prepare_metrics_folder()
    try:
        GatewayServer(config, gunicorn_options(config)).run()
    finally:
        discard()
    return 0


def hash_password_command(args: argparse.Namespace) -> int:
    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    if not password:
        print("cimi-gateway: empty password", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="cimi-gateway",
        description="A DMTF CIMI 1.0.1 API in front of real clouds.",
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    commands = top.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="serve the API under gunicorn")
    run.add_argument(
        "--config",
        help=f"TOML config (default: ${gateway_config.ENV_VAR}, else the mock cloud)",
    )
    run.add_argument("--bind", help="HOST:PORT to listen on (default 127.0.0.1:8000)")
    run.add_argument("--workers", type=int, help="worker processes (default 2)")
    run.add_argument(
        "--threads",
        type=int,
        help=f"threads per worker (default {gateway_config.DEFAULT_THREADS})",
    )
    run.add_argument(
        "--log-level",
        choices=gateway_config.LOG_LEVELS,
        help="what gunicorn and the gateway log (default info)",
    )
    run.set_defaults(handler=serve)
    migrator = commands.add_parser(
        "migrate", help="bring the store's schema up to date (say from what to what)"
    )
    migrator.add_argument(
        "--config",
        help=f"TOML config (default: ${gateway_config.ENV_VAR}, else the mock cloud)",
    )
    migrator.set_defaults(handler=migrate)
    hasher = commands.add_parser(
        "hash-password", help="print a hash for [auth.users] (reads the password)"
    )
    hasher.set_defaults(handler=hash_password_command)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.handler(args)
    except ConfigError as ex:
        print(f"cimi-gateway: config error: {ex}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
