"""Baseline: CDC positions, reconciler cursors and runs.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.mysql import DATETIME

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "positions",
        sa.Column("source_name", sa.String(128), primary_key=True),
        sa.Column("server_id", sa.BigInteger, nullable=False),
        sa.Column("server_uuid", sa.String(64), nullable=True),
        sa.Column("epoch", sa.Integer, nullable=False, server_default="0"),
        sa.Column("gtid", sa.String(4096), nullable=True),
        sa.Column("file", sa.String(255), nullable=False),
        sa.Column("pos", sa.BigInteger, nullable=False),
        sa.Column("row_index", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated_at", DATETIME(fsp=6), nullable=False),
    )
    op.create_table(
        "reconciler_runs",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("started_at", DATETIME(fsp=6), nullable=False),
        sa.Column("finished_at", DATETIME(fsp=6), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        sa.Column("snapshot_gtid", sa.String(4096), nullable=True),
        sa.Column("snapshot_file", sa.String(255), nullable=True),
        sa.Column("snapshot_pos", sa.BigInteger, nullable=True),
        sa.Column("counts", sa.JSON, nullable=True),
    )
    op.create_table(
        "reconciler_cursors",
        sa.Column("run_id", sa.BigInteger, sa.ForeignKey("reconciler_runs.id"), primary_key=True),
        sa.Column("table_name", sa.String(255), primary_key=True),
        sa.Column("last_pk", sa.JSON, nullable=True),
        sa.Column("done", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("rows_scanned", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated_at", DATETIME(fsp=6), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("reconciler_cursors")
    op.drop_table("reconciler_runs")
    op.drop_table("positions")
