"""Alembic environment for the engine's own schema (positions, reconciler cursors and runs).

The URL comes from the caller (``cachesync db upgrade``) through ``config.attributes``,
never from a file, so no password is written anywhere.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from cachesync.db import metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `cachesync db upgrade`, which passes a connection")
_run(connection)
