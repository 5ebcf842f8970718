"""What no cloud can hold: records kept by the gateway itself.

One table of JSON records keyed by (namespace, kind, id). A namespace is a
provider name plus a credential identity, so tenants of one cloud never see
each other's records. SQLite by default (WAL, so several gunicorn workers can
share the file), or PostgreSQL through psycopg 3, so several gateways can
share one database. The table's schema is made and changed by the
revisions in ``gateway/migrations``; ``records`` below is the model the store
queries, and a test holds the two equal.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import sys
import threading
from collections.abc import Iterable
from datetime import UTC
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import BigInteger
from sqlalchemy import Column
from sqlalchemy import DateTime
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import bindparam
from sqlalchemy import create_engine
from sqlalchemy import delete
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.engine import URL
from sqlalchemy.engine import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import QueuePool
from sqlalchemy.pool import SingletonThreadPool
from sqlalchemy.sql.base import Executable

from gateway import migrations

metadata = MetaData()

records = Table(
    "records",
    metadata,
    # Jobs come and go: on PostgreSQL a bigint, so the sequence outlives
    # them. SQLite's rowid is 64 bits already, but only as INTEGER.
    Column(
        "seq",
        BigInteger().with_variant(Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("namespace", String(200), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("id", String(255), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("data", Text, nullable=False),
    UniqueConstraint("namespace", "kind", "id", name="uq_record"),
    # Listings and pages read a kind in insertion order: from this index, a
    # page is the page's rows, not a sort of the whole kind.
    Index("ix_record_order", "namespace", "kind", "seq"),
)

_SEEDED = "_seeded"
#: seconds a PostgreSQL connection may take to open.
CONNECT_SECONDS = 5
log = logging.getLogger("gateway.store")
#: the SQLAlchemy drivers the store is tested on.
DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql+psycopg")
_EXAMPLE_URL = "postgresql+psycopg://USER@HOST/DATABASE"
#: connections a PostgreSQL store keeps open while idle.
_IDLE_CONNECTIONS = 4

# PERF(gw): statements built once; building a select() costs more than
# running it on SQLite.
_KEY = (
    (records.c.namespace == bindparam("ns_"))
    & (records.c.kind == bindparam("kind_"))
    & (records.c.id == bindparam("id_"))
)
_GET = select(records.c.data).where(_KEY)
_CREATED = select(records.c.created).where(_KEY)
_OF_KIND = (records.c.namespace == bindparam("ns_")) & (
    records.c.kind == bindparam("kind_")
)
_COUNT = select(func.count()).where(_OF_KIND)
_LIST = select(records.c.data).where(_OF_KIND).order_by(records.c.seq)
# The count rides along each row of the page (one statement, so one snapshot)
# as an uncorrelated subquery, run once from the index. Not a window
# function: count() OVER () reads every row of the kind before the LIMIT.
_PAGE = (
    select(records.c.data, _COUNT.scalar_subquery().correlate(None))
    .where(_OF_KIND)
    .order_by(records.c.seq)
    .limit(bindparam("limit_"))
    .offset(bindparam("offset_"))
)
_REPLACE = update(records).where(_KEY).values(data=bindparam("data_"))
_REPLACE_IF = (
    update(records)
    .where(_KEY & (records.c.data == bindparam("old_")))
    .values(data=bindparam("data_"))
)
_REMOVE = delete(records).where(_KEY)
_REMOVE_IF = delete(records).where(_KEY & (records.c.data == bindparam("old_")))


def _dumps(data: dict) -> str:
    """Return the JSON text a record is stored as.

    NOTE(gw): a compare-and-swap compares this text, so it is ``json.dumps``
    with its defaults, as every record already stored was written: the same
    dict (in the same key order) always gives the same text. Its ASCII
    escapes also keep out what PostgreSQL's text cannot hold (NUL, a lone
    surrogate).
    """
    return json.dumps(data)


def _loads(text: str) -> Any:
    """Return a record's data from its stored JSON text.

    PERF(gw): orjson reads it, faster than ``json``. Records are written by
    ``json.dumps`` (their text is what a compare-and-swap compares, so it must
    not change), which escapes a lone surrogate orjson refuses to read: such a
    record is read by ``json``. Integers are exact as far as 64 bits, beyond
    what any kind accepts (``kinds._INT_LIMIT``).
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def is_failure(ex: BaseException) -> bool:
    """Tell whether ``ex`` is a store that does not answer: SQLAlchemy's
    wrapper of a connection or lock failure, or the driver's own, from the
    reads that run on the DBAPI connection."""
    if isinstance(ex, OperationalError | sqlite3.OperationalError):
        return True
    # PERF(gw): psycopg is imported by a PostgreSQL store, never for SQLite.
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(ex, psycopg.OperationalError)


def url_for_path(path: str) -> str:
    """Return the SQLAlchemy URL of the SQLite file at ``path``."""
    return f"sqlite:///{os.path.abspath(os.path.expanduser(path))}"


def check_url(url: str) -> URL:
    """Return ``url`` parsed, if it names a database the store runs on.

    Raises:
        ValueError: saying why not, without the URL's password.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as ex:
        raise ValueError(f"not a database URL, such as {_EXAMPLE_URL}") from ex
    if parsed.drivername not in DRIVERS:
        hint = ""
        if parsed.get_backend_name() == "postgresql":
            hint = " (PostgreSQL goes through psycopg 3: postgresql+psycopg://)"
        raise ValueError(
            f"'{parsed.drivername}://' is not a database the store runs on; "
            f"expected sqlite:///PATH or {_EXAMPLE_URL}{hint}"
        )
    return parsed


class Store:
    """Records by namespace, kind and id, in insertion order.

    Args:
        url: a SQLAlchemy database URL (``sqlite:///path`` by default, or
            ``postgresql+psycopg://...``).
        connections: on PostgreSQL, how many connections this process may
            hold at once: one per thread that serves requests is enough,
            as no call holds one past its return.

    Raises:
        migrations.SchemaAhead: a SQLite database migrated by a newer gateway.
    """

    #: ``is_failure``, for those handed a store (the mock cloud lives in one).
    is_failure = staticmethod(is_failure)

    def __init__(self, url: str, *, connections: int = 16) -> None:
        self._sqlite = make_url(url).get_backend_name() == "sqlite"
        if url.startswith("sqlite:///"):
            folder = os.path.dirname(url.removeprefix("sqlite:///"))
            if folder:
                os.makedirs(folder, exist_ok=True)
        if self._sqlite:
            # PERF(gw): for SQLite, one connection per thread, kept: checking
            # a connection out of a queue costs more than the query.
            pooling: dict[str, Any] = {
                "poolclass": SingletonThreadPool,
                "pool_size": 64,
            }
        else:
            # A server's connections are checked before use, so a restarted
            # server or a connection it dropped costs a reconnect, not a
            # failed request; past the few kept idle, they are closed.
            idle = min(_IDLE_CONNECTIONS, connections)
            pooling = {
                "poolclass": QueuePool,
                "pool_size": idle,
                "max_overflow": connections - idle,
                "pool_pre_ping": True,
                # A server that does not answer at all (a dropped route) is
                # a failure in seconds, not a request held for minutes.
                "connect_args": {"connect_timeout": CONNECT_SECONDS},
            }
        self.engine: Engine = create_engine(url, **pooling)
        if self._sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        if self._sqlite:
            # One machine's file, which only this gateway's processes share:
            # brought to the schema this code needs as it opens. A server's
            # schema is changed only by 'cimi-gateway migrate', when the
            # operator says (the start-up check refuses one that is behind).
            try:
                migrations.upgrade(self.engine)
            except Exception as ex:
                if not is_failure(ex):
                    raise
                # The file is busy (locked past busy_timeout): a worker
                # gunicorn replaces now must still start, or gunicorn halts
                # the gateway; 'serve' migrated it before any worker, and a
                # store still behind answers 503 until it is not.
                log.warning("store: schema not checked now: %s", type(ex).__name__)
        self._compiled = {
            statement: statement.compile(dialect=self.engine.dialect)
            for statement in (_GET, _LIST, _PAGE, _COUNT)
        }
        self._sql = {statement: str(c) for statement, c in self._compiled.items()}
        # PERF(gw): SQLite is read through one autocommit sqlite3 connection
        # per thread (and process): no pool to check out of, no transaction
        # to end, each statement sees what any worker committed before it.
        path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else ""
        self._sqlite_file = path if path and path != ":memory:" else None
        self._readers = threading.local()

    def close(self) -> None:
        """Close the store's connections (new calls open new ones)."""
        reader = getattr(self._readers, "connection", None)
        if reader is not None:
            reader.close()
            self._readers.connection = None
        self.engine.dispose()

    def problem(self) -> str | None:
        """Return why the store does not answer now; None when it does."""
        try:
            with self.engine.connect() as conn:
                conn.execute(select(records.c.seq).limit(1))
        except SQLAlchemyError as ex:
            # The driver's words (which host, what it said), not SQLAlchemy's
            # wrapping of them with the statement.
            cause = getattr(ex, "orig", None) or ex
            return " ".join(str(cause).split())[:300]
        return None

    def get(self, namespace: str, kind: str, id: str) -> dict | None:
        """Return one record's data, or None."""
        rows = self._read(_GET, {"ns_": namespace, "kind_": kind, "id_": id})
        return _loads(rows[0][0]) if rows else None

    def list(self, namespace: str, kind: str) -> list[dict]:
        """Return every record of ``kind`` in ``namespace``, oldest first."""
        rows = self._read(_LIST, {"ns_": namespace, "kind_": kind})
        return [_loads(row[0]) for row in rows]

    def page(
        self, namespace: str, kind: str, offset: int, limit: int | None
    ) -> tuple[list[dict], int]:
        """Return ``limit`` records of ``kind`` from ``offset`` (oldest first),
        and how many there are in all: a page costs the page, not the kind."""
        key = {"ns_": namespace, "kind_": kind}
        # SQLite reads LIMIT -1 as no limit; PostgreSQL LIMIT NULL.
        if limit is None and self._sqlite:
            limit = -1
        rows = self._read(_PAGE, {**key, "offset_": offset, "limit_": limit})
        if rows:
            return [_loads(row[0]) for row in rows], rows[0][1]
        # A page past the end (or an empty kind) still tells the count.
        return [], self._read(_COUNT, key)[0][0]

    def _read(self, statement: Executable, params: dict) -> list[tuple]:
        # PERF(gw): the hot reads run their compiled SQL on the DBAPI
        # connection itself; SQLAlchemy's result machinery costs more than
        # SQLite's answer. The read ends its transaction, so the next one sees
        # what other workers have written since.
        compiled = self._compiled[statement]
        values = compiled.construct_params(params)
        if compiled.positiontup is not None:
            values = tuple(values[name] for name in compiled.positiontup)
        if self._sqlite_file is not None:
            return (
                self._sqlite_reader().execute(self._sql[statement], values).fetchall()
            )
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(self._sql[statement], values)
                return cursor.fetchall()
            finally:
                cursor.close()
                connection.rollback()
        finally:
            connection.close()

    def _sqlite_reader(self) -> sqlite3.Connection:
        reader = getattr(self._readers, "connection", None)
        if reader is None or self._readers.pid != os.getpid():
            reader = sqlite3.connect(
                self._sqlite_file, isolation_level=None, check_same_thread=False
            )
            reader.execute("PRAGMA busy_timeout=10000")
            self._readers.connection, self._readers.pid = reader, os.getpid()
        return reader

    def add(self, namespace: str, kind: str, id: str, data: dict) -> bool:
        """Insert a record; return False when one with that id exists."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(records).values(self._row(namespace, kind, id, data))
                )
        except IntegrityError:
            return False
        return True

    def replace(
        self,
        namespace: str,
        kind: str,
        id: str,
        data: dict,
        *,
        expected: dict | None = None,
    ) -> bool:
        """Overwrite an existing record's data; return False when there is none.

        Args:
            expected: write only if the record still holds exactly this (as
                ``get`` returned it): a compare-and-swap, so of two writers
                that read the same record one fails instead of undoing the
                other's change. False then means: read again.
        """
        values = {"ns_": namespace, "kind_": kind, "id_": id, "data_": _dumps(data)}
        statement = _REPLACE
        if expected is not None:
            statement, values["old_"] = _REPLACE_IF, _dumps(expected)
        with self.engine.begin() as conn:
            return conn.execute(statement, values).rowcount > 0

    def remove(
        self, namespace: str, kind: str, id: str, *, expected: dict | None = None
    ) -> bool:
        """Delete a record; return False when there was none.

        Args:
            expected: delete only if the record still holds exactly this
                (compare-and-swap, as ``replace``).
        """
        key = {"ns_": namespace, "kind_": kind, "id_": id}
        statement = _REMOVE
        if expected is not None:
            statement, key["old_"] = _REMOVE_IF, _dumps(expected)
        with self.engine.begin() as conn:
            return conn.execute(statement, key).rowcount > 0

    def seed_once(self, namespace: str, items: Iterable[tuple[str, str, dict]]) -> bool:
        """Insert ``items`` (kind, id, data) unless this namespace was seeded.

        The marker and the items go in one transaction, so of several workers
        starting at once exactly one seeds, and a record a user deleted later
        is never brought back by a restart.
        """
        rows = [self._row(namespace, _SEEDED, namespace, {})]
        rows += [self._row(namespace, kind, id, data) for kind, id, data in items]
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(records), rows)
        except IntegrityError:
            return False
        return True

    def first_seen(self, namespace: str) -> datetime:
        """Return when ``namespace`` was first asked about here, marking it now.

        Of several workers asking at once, one marks it; all get its time.
        """
        if self.seeded_at(namespace) is None:
            self.seed_once(namespace, ())
        seen = self.seeded_at(namespace)
        assert seen is not None
        return seen

    def seeded_at(self, namespace: str) -> datetime | None:
        """Return when ``namespace`` was seeded, or None."""
        key = {"ns_": namespace, "kind_": _SEEDED, "id_": namespace}
        with self.engine.connect() as conn:
            row = conn.execute(_CREATED, key).first()
        if row is None:
            return None
        created = row.created
        # SQLite gives back the UTC time written, without its zone;
        # PostgreSQL the instant, in the session's zone.
        if created.tzinfo is None:
            return created.replace(tzinfo=UTC)
        return created.astimezone(UTC)

    @staticmethod
    def _row(namespace: str, kind: str, id: str, data: dict) -> dict:
        return {
            "namespace": namespace,
            "kind": kind,
            "id": id,
            "created": datetime.now(UTC),
            "data": _dumps(data),
        }
