"""The records table and its order index, as ``gateway.store.records`` has them.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NOTE(gw): IF NOT EXISTS, in this first revision only: a database made
    # before migrations has the table already, perhaps without the index
    # added later. It is kept (with its records) and completed, then stamped,
    # never made again.
    op.create_table(
        "records",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("namespace", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.UniqueConstraint("namespace", "kind", "id", name="uq_record"),
        if_not_exists=True,
    )
    op.create_index(
        "ix_record_order",
        "records",
        ["namespace", "kind", "seq"],
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index("ix_record_order", table_name="records")
    op.drop_table("records")
