"""The source's catalog: server settings and table shapes, checked before streaming.

The checks (pure) refuse to start with a message that names the setting, table or column,
so a misconfiguration fails at start-up and not on the first row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import sqlalchemy as sa

from cdc.normalize import TableShape
from schemas.config import Settings
from schemas.values import Kind, kind_of

REQUIRED_SETTINGS: Final = {
    "binlog_format": "ROW",
    "binlog_row_image": "FULL",
    "binlog_row_metadata": "FULL",
}


class SourceConfigError(RuntimeError):
    """The source server or its tables do not allow streaming as configured."""


def check_server_settings(variables: Mapping[str, str]) -> None:
    """Refuse unless the binlog carries full row images with column names."""
    problems = []
    for name, wanted in REQUIRED_SETTINGS.items():
        actual = variables.get(name)
        if actual is None or actual.upper() != wanted:
            problems.append(f"{name} is {actual!r}, cachesync needs {wanted}")
    if variables.get("log_bin", "ON").upper() not in {"ON", "1"}:
        problems.append("log_bin is OFF, cachesync needs the binary log")
    if problems:
        raise SourceConfigError(
            "the source server's settings do not allow CDC: " + "; ".join(problems)
        )


_TIME_KINDS: Final = (Kind.TIMESTAMP, Kind.DATETIME)


def build_shapes(settings: Settings, columns: Sequence[tuple[str, str, str, str, str]]
                 ) -> dict[str, TableShape]:
    """Shapes of the configured tables from catalog rows.

    ``columns``: (schema, table, column, data_type, column_key) from information_schema.
    Raises :class:`SourceConfigError` naming every missing table or column.
    """
    by_table: dict[str, dict[str, Kind]] = {}
    pks: dict[str, list[str]] = {}
    problems = []
    for schema, table, column, data_type, column_key in columns:
        name = f"{schema}.{table}"
        try:
            kind = kind_of(data_type)
        except ValueError:
            problems.append(f"{name}.{column} has unsupported type {data_type}")
            continue
        by_table.setdefault(name, {})[column] = kind
        if column_key == "PRI":
            pks.setdefault(name, []).append(column)
    shapes = {}
    for name, rule in settings.tables.items():
        kinds = by_table.get(name)
        if kinds is None:
            problems.append(f"table {name} does not exist on the source (or is not readable)")
            continue
        if name not in pks:
            problems.append(f"table {name} has no primary key")
            continue
        needed = {
            "partition_key": [rule.partition_key] if rule.partition_key else [],
            "version_column": [rule.version_column] if rule.version_column else [],
            "cache_keys": sorted(rule.template_columns()),
            "columns": rule.columns or [],
            "commit_time_column": [rule.commit_time_column] if rule.commit_time_column else [],
        }
        for field, names in needed.items():
            for column in names:
                if column not in kinds:
                    problems.append(f"table {name}: {field} column {column!r} does not exist")
        commit_time = rule.commit_time_column
        if commit_time in kinds and kinds[commit_time] not in _TIME_KINDS:
            problems.append(f"table {name}: commit_time_column {commit_time!r} is "
                            f"{kinds[commit_time].value}, not TIMESTAMP or DATETIME")
        shapes[name] = TableShape(name=name, rule=rule, pk=tuple(pks[name]), kinds=kinds)
    if problems:
        raise SourceConfigError("; ".join(problems))
    return shapes


def read_server_settings(conn: sa.Connection) -> dict[str, str]:
    rows = conn.execute(sa.text(
        "SHOW GLOBAL VARIABLES WHERE Variable_name IN "
        "('binlog_format', 'binlog_row_image', 'binlog_row_metadata', 'log_bin', "
        "'server_id', 'server_uuid', 'gtid_binlog_pos', 'gtid_executed')"
    ))
    return {str(name): str(value) for name, value in rows}


def read_columns(conn: sa.Connection, schemas: Sequence[str]
                 ) -> list[tuple[str, str, str, str, str]]:
    """Catalog rows of every table in the given schemas, in ordinal order.

    MariaDB's ``JSON`` is an alias of ``LONGTEXT`` with a ``json_valid(`col`)`` check
    constraint (``DATA_TYPE`` says ``longtext``): such columns are reported as ``json`` so
    their values are published as JSON, as on MySQL.
    """
    version = str(conn.execute(sa.text("SELECT VERSION()")).scalar_one())
    if "mariadb" in version.lower():
        query = (
            "SELECT c.TABLE_SCHEMA, c.TABLE_NAME, c.COLUMN_NAME, "
            "CASE WHEN k.CHECK_CLAUSE IS NULL THEN c.DATA_TYPE ELSE 'json' END, c.COLUMN_KEY "
            "FROM information_schema.COLUMNS c "
            "LEFT JOIN information_schema.CHECK_CONSTRAINTS k "
            "ON k.CONSTRAINT_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME "
            "AND k.CONSTRAINT_NAME = c.COLUMN_NAME AND c.DATA_TYPE = 'longtext' "
            "AND k.CHECK_CLAUSE = CONCAT('json_valid(`', c.COLUMN_NAME, '`)') "
            "WHERE c.TABLE_SCHEMA IN :schemas "
            "ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION"
        )
    else:
        query = (
            "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_KEY "
            "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN :schemas "
            "ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION"
        )
    rows = conn.execute(
        sa.text(query).bindparams(sa.bindparam("schemas", expanding=True)),
        {"schemas": list(schemas)},
    )
    return [(str(a), str(b), str(c), str(d), str(e)) for a, b, c, d, e in rows]


class ShapeCatalog:
    """The configured tables' shapes as the source's catalog has them now.

    The reader calls :meth:`refresh` after every DDL statement it streams past, so a table
    whose key column was dropped stops the worker with the column named, and a new JSON
    column is known as JSON (the only thing the binlog's table map cannot say).
    """

    def __init__(self, settings: Settings, source: sa.Engine) -> None:
        self._settings = settings
        self._source = source
        self._shapes: Mapping[str, TableShape] = {}

    def refresh(self) -> None:
        with self._source.connect() as conn:
            columns = read_columns(conn, self._settings.schemas)
        self._shapes = build_shapes(self._settings, columns)

    def shapes(self) -> Mapping[str, TableShape]:
        return self._shapes
