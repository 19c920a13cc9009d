"""The engine's own tables (SQLAlchemy Core) and ``cachesync db upgrade``.

The table definitions mirror the Alembic revisions in ``migrations/``; a unit test checks
that the migrated schema and this metadata agree.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click
import sqlalchemy as sa
from sqlalchemy.dialects.mysql import DATETIME

from cachesync.settings_cli import config_option, load_or_exit
from schemas.config import Dsn, Settings

log = logging.getLogger(__name__)

metadata = sa.MetaData()

positions = sa.Table(
    "positions",
    metadata,
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

reconciler_runs = sa.Table(
    "reconciler_runs",
    metadata,
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

reconciler_cursors = sa.Table(
    "reconciler_cursors",
    metadata,
    sa.Column("run_id", sa.BigInteger, sa.ForeignKey("reconciler_runs.id"), primary_key=True),
    sa.Column("table_name", sa.String(255), primary_key=True),
    sa.Column("last_pk", sa.JSON, nullable=True),
    sa.Column("done", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("rows_scanned", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("updated_at", DATETIME(fsp=6), nullable=False),
)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def sqlalchemy_url(dsn: Dsn, database: str | None = None) -> sa.URL:
    """A SQLAlchemy URL (PyMySQL driver) whose ``repr`` hides the password."""
    return sa.URL.create(
        "mysql+pymysql",
        username=dsn.user,
        password=dsn.password,
        host=dsn.host,
        port=dsn.port or 3306,
        database=database if database is not None else (dsn.path or None),
        query={"charset": "utf8mb4"},
    )


def create_engine(dsn: Dsn, database: str | None = None, **kwargs: object) -> sa.Engine:
    return sa.create_engine(
        sqlalchemy_url(dsn, database), pool_pre_ping=True, hide_parameters=True, **kwargs
    )


def engine_for(settings: Settings) -> sa.Engine:
    """Engine on the cachesync schema (positions, reconciler tables)."""
    return create_engine(settings.engine_dsn, settings.engine.database)


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Create the engine schema if needed and apply migrations up to ``revision``."""
    # Alembic (and Mako) only here: the workers import this module for its tables.
    from alembic import command  # noqa: PLC0415
    from alembic.config import Config as AlembicConfig  # noqa: PLC0415

    server = create_engine(settings.engine_dsn, "")
    try:
        with server.begin() as conn:
            conn.execute(sa.text(f"CREATE DATABASE IF NOT EXISTS `{settings.engine.database}`"))
    finally:
        server.dispose()
    engine = engine_for(settings)
    try:
        with engine.begin() as conn:
            cfg = AlembicConfig(str(MIGRATIONS_DIR / "alembic.ini"))
            cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()
    log.info("engine schema %s is at revision %s", settings.engine.database, revision)


@click.group()
def db() -> None:
    """The engine's own tables."""


@db.command("upgrade")
@config_option
@click.option("--revision", default="head", show_default=True)
def upgrade_cmd(*, config_path: str, revision: str) -> None:
    """Apply the migrations to the engine schema."""
    settings = load_or_exit(config_path)
    try:
        upgrade(settings, revision)
    except sa.exc.DBAPIError as exc:
        raise click.ClickException(
            f"migration failed on {settings.engine_dsn}: {type(exc.orig).__name__}: {exc.orig}"
        ) from None
    click.echo(f"engine schema {settings.engine.database!r} upgraded to {revision}")
