"""Start-up checks (cdc.catalog): refusals name the setting, table or column."""

from __future__ import annotations

from typing import Any

import pytest

from cdc.catalog import SourceConfigError, build_shapes, check_server_settings
from schemas.config import parse_settings
from schemas.values import Kind

GOOD = {"binlog_format": "ROW", "binlog_row_image": "FULL", "binlog_row_metadata": "FULL",
        "log_bin": "ON"}


def test_good_settings_pass() -> None:
    check_server_settings(GOOD)
    check_server_settings(GOOD | {"binlog_format": "row"})


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"binlog_format": "MIXED"}, "binlog_format is 'MIXED', cachesync needs ROW"),
        ({"binlog_format": "STATEMENT"}, "binlog_format"),
        ({"binlog_row_image": "MINIMAL"}, "binlog_row_image is 'MINIMAL'"),
        ({"binlog_row_image": "NOBLOB"}, "binlog_row_image"),
        ({"binlog_row_metadata": "MINIMAL"}, "binlog_row_metadata is 'MINIMAL'"),
        ({"binlog_row_metadata": None}, "binlog_row_metadata is None"),
        ({"log_bin": "OFF"}, "log_bin is OFF"),
    ],
)
def test_bad_settings_are_named(override: dict[str, Any], named: str) -> None:
    variables = {k: v for k, v in (GOOD | override).items() if v is not None}
    with pytest.raises(SourceConfigError) as info:
        check_server_settings(variables)
    assert named in str(info.value)


def settings(tables: dict[str, dict[str, Any]]) -> Any:
    return parse_settings({
        "source": {"dsn": "mysql://u:p@127.0.0.1:3306/"},
        "kafka": {"bootstrap_servers": ["127.0.0.1:9092"]},
        "regions": {"east": {"redis_url": "redis://127.0.0.1:6379/0"}},
        "tables": tables,
    })


COLUMNS = [
    ("app", "users", "id", "bigint", "PRI"),
    ("app", "users", "tenant", "varchar", "PRI"),
    ("app", "users", "email", "varchar", ""),
    ("app", "users", "v", "bigint", ""),
    ("app", "users", "doc", "json", ""),
    ("app", "users", "updated_at", "timestamp", ""),
    ("app", "nopk", "id", "int", ""),
]


def test_shapes_from_catalog_rows() -> None:
    shapes = build_shapes(settings({"app.users": {
        "cache_keys": ["u:{id}"], "partition_key": "email", "version_column": "v"}}), COLUMNS)
    users = shapes["app.users"]
    assert users.pk == ("id", "tenant")
    assert users.partition_columns == ("email",)
    assert users.kinds["doc"] is Kind.JSON
    assert users.kinds["email"] is Kind.TEXT


@pytest.mark.parametrize(
    ("rule", "table", "named"),
    [
        ({"cache_keys": ["x:{id}"]}, "app.missing", "table app.missing does not exist"),
        ({"cache_keys": ["x:{id}"]}, "app.nopk", "table app.nopk has no primary key"),
        ({"cache_keys": ["u:{nope}"]}, "app.users", "app.users: cache_keys column 'nope'"),
        ({"cache_keys": ["u:{id}"], "partition_key": "gone"}, "app.users",
         "app.users: partition_key column 'gone' does not exist"),
        ({"cache_keys": ["u:{id}"], "version_column": "ver"}, "app.users",
         "app.users: version_column column 'ver'"),
        ({"cache_keys": ["u:{id}"], "columns": ["id", "zzz"]}, "app.users",
         "app.users: columns column 'zzz'"),
        ({"cache_keys": ["u:{id}"], "commit_time_column": "gone"}, "app.users",
         "app.users: commit_time_column column 'gone' does not exist"),
        ({"cache_keys": ["u:{id}"], "commit_time_column": "v"}, "app.users",
         "app.users: commit_time_column 'v' is int, not TIMESTAMP or DATETIME"),
    ],
)
def test_missing_things_are_named(rule: dict[str, Any], table: str, named: str) -> None:
    with pytest.raises(SourceConfigError) as info:
        build_shapes(settings({table: rule}), COLUMNS)
    assert named in str(info.value)


def test_a_time_column_is_a_commit_time_column() -> None:
    shapes = build_shapes(settings({"app.users": {
        "cache_keys": ["u:{id}"], "commit_time_column": "updated_at"}}), COLUMNS)
    assert shapes["app.users"].kinds["updated_at"] is Kind.TIMESTAMP


def test_unsupported_type_is_named() -> None:
    with pytest.raises(SourceConfigError, match=r"app.users.emb has unsupported type vector"):
        build_shapes(settings({"app.users": {"cache_keys": ["u:{id}"]}}),
                     [*COLUMNS, ("app", "users", "emb", "vector", "")])
