"""Run the shipped revisions on the connection ``gateway.migrations`` hands over.

Alembic reaches this file only through ``gateway.migrations.upgrade``, which
opens the connection, begins its transaction and takes the lock before: so
this file neither connects nor commits, and every revision of one upgrade runs
in that one transaction (SQLite's DDL is transactional too, once begun).
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "the gateway's migrations run through 'cimi-gateway migrate', "
        "not the alembic command"
    )
context.configure(connection=connection, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
