"""`cachesync db upgrade` builds the engine schema that cachesync.db's metadata describes."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from cachesync import db
from cachesync.stack import StackInfo
from schemas.config import parse_settings
from tests.integration.settings import stack_settings


def test_upgrade_is_idempotent_and_matches_metadata(stack: StackInfo) -> None:
    database = f"cachesync_mig_{uuid.uuid4().hex[:8]}"
    settings = stack_settings(stack, {"app.t": {"cache_keys": ["t:{id}"]}})
    # The replication user may only touch the `cachesync` schema, so use root for a fresh one.
    settings = parse_settings(
        settings.model_dump(mode="python", exclude={"source", "engine"})
        | {"source": {"dsn": stack.root_dsn}, "engine": {"database": database}}
    )
    try:
        db.upgrade(settings)
        db.upgrade(settings)
        engine = db.engine_for(settings)
        try:
            with engine.connect() as conn:
                diffs = compare_metadata(MigrationContext.configure(conn), db.metadata)
                revision = conn.execute(sa.text("SELECT version_num FROM alembic_version"))
                assert revision.scalar_one() == "0001"
        finally:
            engine.dispose()
        assert diffs == []
    finally:
        root = db.create_engine(settings.source.dsn, "")
        with root.begin() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{database}`"))
        root.dispose()


def test_least_privilege_user_can_upgrade_engine_schema(stack: StackInfo) -> None:
    settings = stack_settings(stack, {"app.t": {"cache_keys": ["t:{id}"]}})
    db.upgrade(settings)
    engine = db.engine_for(settings)
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert {"positions", "reconciler_runs", "reconciler_cursors"} <= tables
