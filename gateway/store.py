"""What no cloud can hold: records kept by the gateway itself.

One table of JSON records keyed by (namespace, kind, id). A namespace is a
provider name plus a credential identity, so tenants of one cloud never see
each other's records. SQLite by default (WAL, so several gunicorn workers can
share the file); any SQLAlchemy URL works.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import UTC
from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlalchemy import DateTime
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import create_engine
from sqlalchemy import delete
from sqlalchemy import event
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

metadata = MetaData()

records = Table(
    "records",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("namespace", String(200), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("id", String(255), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("data", Text, nullable=False),
    UniqueConstraint("namespace", "kind", "id", name="uq_record"),
)

_SEEDED = "_seeded"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def url_for_path(path: str) -> str:
    """Return the SQLAlchemy URL of the SQLite file at ``path``."""
    return f"sqlite:///{os.path.abspath(os.path.expanduser(path))}"


class Store:
    """Records by namespace, kind and id, in insertion order.

    Args:
        url: a SQLAlchemy database URL (``sqlite:///path`` by default).
    """

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            folder = os.path.dirname(url.removeprefix("sqlite:///"))
            if folder:
                os.makedirs(folder, exist_ok=True)
        self.engine: Engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        metadata.create_all(self.engine)

    def get(self, namespace: str, kind: str, id: str) -> dict | None:
        """Return one record's data, or None."""
        query = select(records.c.data).where(
            records.c.namespace == namespace,
            records.c.kind == kind,
            records.c.id == id,
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else json.loads(row.data)

    def list(self, namespace: str, kind: str) -> list[dict]:
        """Return every record of ``kind`` in ``namespace``, oldest first."""
        query = (
            select(records.c.data)
            .where(records.c.namespace == namespace, records.c.kind == kind)
            .order_by(records.c.seq)
        )
        with self.engine.connect() as conn:
            return [json.loads(row.data) for row in conn.execute(query)]

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

    def replace(self, namespace: str, kind: str, id: str, data: dict) -> bool:
        """Overwrite an existing record's data; return False when there is none."""
        query = (
            update(records)
            .where(
                records.c.namespace == namespace,
                records.c.kind == kind,
                records.c.id == id,
            )
            .values(data=json.dumps(data))
        )
        with self.engine.begin() as conn:
            return conn.execute(query).rowcount > 0

    def remove(self, namespace: str, kind: str, id: str) -> bool:
        """Delete a record; return False when there was none."""
        query = delete(records).where(
            records.c.namespace == namespace,
            records.c.kind == kind,
            records.c.id == id,
        )
        with self.engine.begin() as conn:
            return conn.execute(query).rowcount > 0

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

    def seeded_at(self, namespace: str) -> datetime | None:
        """Return when ``namespace`` was seeded, or None."""
        query = select(records.c.created).where(
            records.c.namespace == namespace,
            records.c.kind == _SEEDED,
            records.c.id == namespace,
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        created = row.created
        return created if created.tzinfo else created.replace(tzinfo=UTC)

    @staticmethod
    def _row(namespace: str, kind: str, id: str, data: dict) -> dict:
        return {
            "namespace": namespace,
            "kind": kind,
            "id": id,
            "created": datetime.now(UTC),
            "data": json.dumps(data),
        }
