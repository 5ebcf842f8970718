"""The store's schema, changed only through the Alembic revisions shipped here.

``versions/`` holds one revision per change of schema, the first
(``0001_records``) the ``records`` table as ``gateway.store.records`` defines
it. ``upgrade`` applies what a database lacks, under a lock, so gateways or
workers upgrading one database at once take turns and each change is made
once; ``check`` says whether a database is what this code needs, changing
nothing. A database made before migrations (a ``records`` table, no
``alembic_version``) is at ``BASELINE``; ``upgrade`` stamps it.

A new revision is written with Alembic's own command, from the repository::

    .venv/bin/python -c "from alembic import command; from gateway import
    migrations; command.revision(migrations.config(), 'why', rev_id='0002')"

then its ``upgrade`` and ``downgrade`` are written by hand, the model in
``gateway/store.py`` changed to match (``test_migrations`` compares them).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func
from sqlalchemy import inspect
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.engine import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

# PERF(gw): Alembic is imported only to change a schema or to name revisions
# this code does not know; a database already at HEAD (every start but the
# first after an upgrade) is read with SQLAlchemy alone. Alembic's import
# costs a quarter of a second in every process, each gunicorn master too.

FOLDER = Path(__file__).resolve().parent
#: the revision a database made before migrations is at.
BASELINE = "0001"
#: the newest revision shipped, which this code needs (``test_migrations``
#: checks it is the head of ``versions/``: a new revision bumps it).
HEAD = "0001"
#: Alembic's table of the revision a database is at.
VERSION_TABLE = "alembic_version"
#: the PostgreSQL advisory lock held while the schema changes (b"cimi"): the
#: one gateways took to make their table before migrations, so an older
#: gateway starting beside a migration takes its turn too.
DDL_LOCK = 0x63696D69
#: seconds a SQLite upgrade waits for another to finish.
SQLITE_WAIT = 30

# NOTE(gw): Alembic's ``context`` and ``op`` are module globals while a
# revision runs: in one process, one upgrade at a time.
_RUNNING = threading.Lock()


class SchemaError(Exception):
    """The database's schema is not the one this gateway needs."""


class SchemaBehind(SchemaError):
    """The database lacks revisions this gateway needs: run the migrations."""


class SchemaAhead(SchemaError):
    """The database is at a revision this gateway does not know."""


@dataclass(frozen=True)
class Upgraded:
    """What ``upgrade`` did to one database.

    Attributes:
        where: the database's URL, without its password.
        before: the revision it was at (None: an empty database).
        after: the revision it is at now.
        stamped: it was made before migrations and got its revision now.
    """

    where: str
    before: str | None
    after: str
    stamped: bool

    def line(self) -> str:
        """Return the one line saying so, for ``cimi-gateway migrate``."""
        if self.stamped:
            line = f"store: {self.where} was made before migrations: stamped {BASELINE}"
            return line + (
                f", upgraded to {self.after}" if self.after != BASELINE else ""
            )
        if self.before == self.after:
            return f"store: {self.where} is up to date at {self.after}"
        return (
            f"store: {self.where} upgraded from {self.before or 'none'} to {self.after}"
        )


def config() -> Config:
    """Return an Alembic config for the shipped revisions (no alembic.ini)."""
    from alembic.config import Config

    alembic_config = Config()
    alembic_config.set_main_option("script_location", str(FOLDER))
    return alembic_config


@functools.cache
def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config())


def head() -> str:
    """Return the revision this code needs (the newest shipped)."""
    return HEAD


def current(target: str | Engine) -> str | None:
    """Return the revision the database at ``target`` is at, or None if empty.

    A database made before migrations is at ``BASELINE``, stamped or not.
    """
    with _connection(target) as conn:
        return _current(conn)[0]


def check(target: str | Engine) -> str:
    """Return the database's revision, if it is the one this code needs.

    Raises:
        SchemaBehind: it lacks revisions (an empty database too).
        SchemaAhead: it is at a revision this code does not know.
    """
    with _connection(target) as conn:
        revision = _current(conn)[0]
    _refuse_unknown(_where(target), revision)
    if revision is None or revision != head():
        raise SchemaBehind(
            f"{_where(target)} is at revision {revision or 'none'}, this gateway "
            f"needs {head()}: run 'cimi-gateway migrate'"
        )
    return revision


def upgrade(target: str | Engine) -> Upgraded:
    """Apply the revisions the database at ``target`` lacks; say what was done.

    Several processes or threads may upgrade one database at once: they take
    turns (PostgreSQL's advisory lock ``DDL_LOCK``, SQLite's exclusive
    transaction), and each finds what the one before it did.

    Raises:
        SchemaAhead: the database is at a revision this code does not know.
    """
    where = _where(target)
    with _connection(target) as conn:
        # PERF(gw): the common case, a database already up to date, is one
        # read without a lock: every SQLite store opened asks.
        before, legacy = _current(conn)
        conn.rollback()
        _refuse_unknown(where, before)
        if before == head() and not legacy:
            return Upgraded(where, before, before, stamped=False)
        with _RUNNING, conn.begin():
            _take_turns(conn)
            # Read again under the lock: another may have upgraded meanwhile.
            before, legacy = _current(conn)
            _refuse_unknown(where, before)
            if before != head() or legacy:
                from alembic import command

                alembic_config = config()
                alembic_config.attributes["connection"] = conn
                command.upgrade(alembic_config, "head")
            after = _current(conn)[0]
    assert after is not None
    return Upgraded(where, before, after, stamped=legacy)


def _current(conn: Connection) -> tuple[str | None, bool]:
    """Return the revision, and whether it was inferred (made before
    migrations: a records table without ``alembic_version``)."""
    tables = inspect(conn)
    stamped = None
    if tables.has_table(VERSION_TABLE):
        rows = conn.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}")
        stamped = next((row[0] for row in rows), None)
    if stamped is None and tables.has_table("records"):
        return BASELINE, True
    return stamped, False


def _refuse_unknown(where: str, revision: str | None) -> None:
    if revision is None or revision == HEAD:
        return
    known = {script.revision for script in _scripts().walk_revisions()}
    if revision not in known:
        raise SchemaAhead(
            f"{where} is at revision {revision}, which this gateway does not know "
            f"(it needs {head()}): run the gateway version that migrated it"
        )


def _take_turns(conn: Connection) -> None:
    """Wait for, then hold until the transaction ends, the right to migrate."""
    if conn.dialect.name == "sqlite":
        # Python's sqlite3 issues no BEGIN of its own once one is open, and
        # its commit ends this one: the whole upgrade holds the write lock.
        conn.exec_driver_sql("BEGIN EXCLUSIVE")
    else:
        conn.execute(select(func.pg_advisory_xact_lock(DDL_LOCK)))


@contextmanager
def _connection(target: str | Engine) -> Iterator[Connection]:
    """Yield a connection to ``target``: an engine's own, or a new one's."""
    if isinstance(target, Engine):
        with target.connect() as conn:
            yield conn
        return
    engine = _engine(target)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, poolclass=NullPool)
    path = url.removeprefix("sqlite:///")
    if url.startswith("sqlite:///") and path != ":memory:" and os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    # The driver's timeout is SQLite's busy timeout: a second upgrade waits
    # for the first's exclusive transaction instead of failing.
    return create_engine(url, poolclass=NullPool, connect_args={"timeout": SQLITE_WAIT})


def _where(target: str | Engine) -> str:
    url = target.url if isinstance(target, Engine) else make_url(target)
    return url.render_as_string(hide_password=True)
