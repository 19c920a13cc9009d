"""Settings validation: every bad field is named with its reason; secrets never leak."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cachesync.cli import main
from schemas.config import ConfigError, apply_env_overrides, load_settings, parse_settings

CANARY = "s3cr3t-canary-pw"
REPO = Path(__file__).resolve().parents[2]

BASE: dict[str, Any] = {
    "source": {"dsn": f"mysql://repl:{CANARY}@db.internal:3306/"},
    "kafka": {"bootstrap_servers": ["k1:9092"]},
    "regions": {"east": {"redis_url": f"redis://:{CANARY}@r1:6379/0"}},
    "tables": {"app.users": {"cache_keys": ["user:{id}"], "action": "rewrite"}},
}


def with_change(path: str, value: Any) -> dict[str, Any]:
    raw = copy.deepcopy(BASE)
    *parents, leaf = path.split("/")
    node = raw
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return raw


def test_example_config_is_valid() -> None:
    settings = load_settings(REPO / "config" / "example.toml", environ={})
    assert set(settings.regions) == {"east", "west"}
    assert settings.tables["app.balances"].version_column == "version"


@pytest.mark.parametrize(
    ("path", "value", "field", "reason"),
    [
        ("source/dsn", "postgres://u:p@h/", "source.dsn", "scheme must be one of"),
        ("source/dsn", "mysql://u:p@h:notaport/", "source.dsn", "not a valid URL"),
        ("source/server_id", 0, "source.server_id", "greater than or equal to 1"),
        ("kafka/partitions", 0, "kafka.partitions", "greater than or equal to 1"),
        ("kafka/bootstrap_servers", ["nohostport"], "kafka.bootstrap_servers", "not host:port"),
        ("kafka/topic", "bad topic!", "kafka.topic", "Kafka topic names"),
        ("regions", {}, "regions", "at least 1 item"),
        ("regions", {"East": {"redis_url": "redis://h/0"}}, "regions", "lowercase"),
        ("regions/east/redis_url", "http://h/", "regions.east.redis_url", "scheme"),
        ("tables", {"users": {"cache_keys": ["u:{id}"]}}, "tables", "db.table"),
        ("tables/app.users/cache_keys", ["user:{id"], '"app.users".cache_keys', "malformed"),
        ("tables/app.users/cache_keys", ["user:all"], '"app.users".cache_keys', "names no column"),
        ("tables/app.users/cache_keys", ["u:{id!r}"], '"app.users".cache_keys', "plain column"),
        ("tables/app.users/action", "delete", '"app.users".action', "'invalidate' or 'rewrite'"),
        ("tables/app.users/ttl_seconds", 0, '"app.users".ttl_seconds', "greater than"),
        ("tables/app.users/typo", 1, '"app.users".typo', "Extra inputs are not permitted"),
        ("engine/database", "cache sync", "engine.database", "plain identifier"),
        ("tables/app.users/commit_time_column", "updated at",
         '"app.users".commit_time_column', "plain column name"),
        ("tables/app.users", {"cache_keys": ["u:{id}"], "columns": ["id", "name"],
                              "commit_time_column": "updated_at"},
         '"app.users"', "commit_time_column 'updated_at' is not one of the table's columns"),
    ],
)
def test_bad_field_is_named_with_reason(path: str, value: Any, field: str, reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(with_change(path, value))
    message = str(info.value)
    assert field in message
    assert reason in message
    assert CANARY not in message


@pytest.mark.parametrize("columns", [None, ["id", "updated_at"]])
def test_commit_time_column_is_accepted(columns: list[str] | None) -> None:
    raw = with_change("tables/app.users", {"cache_keys": ["u:{id}"], "columns": columns,
                                           "commit_time_column": "updated_at"})
    assert parse_settings(raw).tables["app.users"].commit_time_column == "updated_at"


def test_engine_schema_tables_are_refused() -> None:
    raw = with_change("tables/cachesync.positions", {"cache_keys": ["p:{source_name}"]})
    with pytest.raises(ConfigError, match="engine schema"):
        parse_settings(raw)


def test_passwords_never_in_repr_or_str() -> None:
    settings = parse_settings(BASE)
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert CANARY not in text
    assert settings.source.dsn.password == CANARY
    assert CANARY in settings.source.dsn.reveal()
    assert str(settings.source.dsn) == "mysql://repl:***@db.internal:3306/"


def test_env_overrides_nested_fields_and_keep_dsn_strings() -> None:
    raw = apply_env_overrides(
        copy.deepcopy(BASE),
        {
            "CACHESYNC_KAFKA__PARTITIONS": "24",
            "CACHESYNC_KAFKA__BOOTSTRAP_SERVERS": "a:1,b:2",
            "CACHESYNC_SOURCE__DSN": "mysql://u:123@h:3306/",
            "CACHESYNC_REGIONS__WEST__REDIS_URL": "redis://w:6379/1",
            "UNRELATED": "x",
        },
    )
    settings = parse_settings(raw)
    assert settings.kafka.partitions == 24
    assert settings.kafka.bootstrap_servers == ["a:1", "b:2"]
    assert settings.source.dsn.password == "123"
    assert settings.regions["west"].redis_url.port == 6379


def test_env_override_errors_name_the_field() -> None:
    raw = apply_env_overrides(copy.deepcopy(BASE), {"CACHESYNC_KAFKA__PARTITIONS": "many"})
    with pytest.raises(ConfigError, match=r"kafka\.partitions"):
        parse_settings(raw)


def test_config_check_cli(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        f'[source]\ndsn = "mysql://u:{CANARY}@h:1/"\n[kafka]\nbootstrap_servers = ["k:1"]\n'
        '[regions.east]\nredis_url = "redis://r:1/0"\n'
        '[tables."app.t"]\ncache_keys = ["t:{id}"]\nttl_seconds = -5\n'
    )
    runner = CliRunner()
    result = runner.invoke(main, ["config", "check", str(bad)])
    assert result.exit_code == 2
    assert '"app.t".ttl_seconds' in result.output
    assert CANARY not in result.output

    good = runner.invoke(main, ["config", "check", str(REPO / "config" / "example.toml")])
    assert good.exit_code == 0, good.output
    assert "cachesync:***@" in good.output


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.toml", environ={})
    broken = tmp_path / "broken.toml"
    broken.write_text("[source\n")
    with pytest.raises(ConfigError, match="not valid toml"):
        load_settings(broken, environ={})
    yaml_file = tmp_path / "c.yaml"
    yaml_file.write_text(
        "source: {dsn: 'mysql://u@h:1/'}\nkafka: {bootstrap_servers: 'k:1'}\n"
        "regions: {east: {redis_url: 'redis://r:1/0'}}\n"
        "tables: {app.t: {cache_keys: ['t:{id}']}}\n"
    )
    assert load_settings(yaml_file, environ={}).tables["app.t"].cache_keys == ["t:{id}"]


def test_connection_failure_does_not_leak_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config_file = tmp_path / "c.toml"
    config_file.write_text(
        f'[source]\ndsn = "mysql://u:{CANARY}@127.0.0.1:1/"\n[kafka]\nbootstrap_servers = ["k:1"]\n'
        '[regions.east]\nredis_url = "redis://r:1/0"\n[tables."app.t"]\ncache_keys = ["t:{id}"]\n'
    )
    result = CliRunner().invoke(main, ["db", "upgrade", "--config", str(config_file)])
    assert result.exit_code == 1
    assert "migration failed on mysql://u:***@127.0.0.1:1/" in result.output
    assert CANARY not in result.output
    assert CANARY not in caplog.text
