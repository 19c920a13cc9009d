"""Configuration models: one file (TOML or YAML) plus environment overrides.

Validation errors name the field and the reason and never echo the offending value, so a
password in a DSN cannot leak through an error message. DSNs and Redis URLs are held as
:class:`Secret`-bearing :class:`Dsn` values whose ``str``/``repr`` are redacted.
"""

from __future__ import annotations

import os
import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Literal
from urllib.parse import SplitResult, unquote, urlsplit

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

ENV_PREFIX: Final = "CACHESYNC_"
ENV_NESTING: Final = "__"


class ConfigError(ValueError):
    """The configuration is invalid; the message names each bad field and why."""


@dataclass(frozen=True, slots=True)
class Dsn:
    """A connection URL whose password never shows in ``str``, ``repr`` or logs."""

    _url: str

    @property
    def parts(self) -> SplitResult:
        return urlsplit(self._url)

    def reveal(self) -> str:
        """The full URL, password included: pass it to a driver, never to a log."""
        return self._url

    @property
    def host(self) -> str:
        return self.parts.hostname or "127.0.0.1"

    @property
    def port(self) -> int | None:
        return self.parts.port

    @property
    def user(self) -> str | None:
        user = self.parts.username
        return unquote(user) if user is not None else None

    @property
    def password(self) -> str | None:
        password = self.parts.password
        return unquote(password) if password is not None else None

    @property
    def path(self) -> str:
        return self.parts.path.lstrip("/")

    def redacted(self) -> str:
        parts = self.parts
        if parts.password is None:
            return self._url
        netloc = parts.netloc.rsplit("@", 1)[1]
        user = parts.username or ""
        return parts._replace(netloc=f"{user}:***@{netloc}").geturl()

    def __str__(self) -> str:
        return self.redacted()

    def __repr__(self) -> str:
        return f"Dsn({self.redacted()!r})"


def _parse_dsn(schemes: tuple[str, ...]) -> Any:
    def parse(value: object) -> Dsn:
        if isinstance(value, Dsn):
            return value
        if not isinstance(value, str):
            raise ValueError("must be a URL string")  # noqa: TRY004 - pydantic wants ValueError
        try:
            parts = urlsplit(value)
            _ = parts.port
        except ValueError:
            raise ValueError("is not a valid URL (check the host and port)") from None
        if parts.scheme not in schemes:
            raise ValueError(f"scheme must be one of {', '.join(schemes)}")
        if not parts.hostname:
            raise ValueError("has no host")
        return Dsn(value)

    return parse


def _dump_dsn(value: Dsn) -> str:
    return value.redacted()


MysqlDsn = Annotated[
    Dsn,
    BeforeValidator(_parse_dsn(("mysql", "mysql+pymysql", "mariadb", "mariadb+pymysql"))),
    PlainSerializer(_dump_dsn),
]
RedisDsn = Annotated[
    Dsn, BeforeValidator(_parse_dsn(("redis", "rediss", "unix"))), PlainSerializer(_dump_dsn)
]

_IDENT: Final = re.compile(r"^[A-Za-z0-9_$]+$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(_Model):
    """The MySQL/MariaDB primary whose binlog is read."""

    dsn: MysqlDsn
    """``mysql://user:password@host:port/`` of the replication user."""
    name: str = Field(default="primary", pattern=r"^[A-Za-z0-9._-]{1,128}$")
    """Name of this source (one CDC worker per primary); keys its row in the positions table."""
    flavor: Literal["mariadb", "mysql"] = "mariadb"
    server_id: int = Field(default=4201, ge=1, le=2**32 - 1)
    """Replica server id this worker announces; must be unique among the primary's replicas."""
    heartbeat_interval_ms: int = Field(default=1000, ge=100)


class EngineConfig(_Model):
    """Where cachesync keeps its own tables (positions, reconciler cursors and runs)."""

    dsn: MysqlDsn | None = None
    """Defaults to the source DSN."""
    database: str = "cachesync"

    @field_validator("database")
    @classmethod
    def _ident(cls, value: str) -> str:
        if not _IDENT.match(value):
            raise ValueError("must be a plain identifier (letters, digits, _ and $)")
        return value


class KafkaConfig(_Model):
    bootstrap_servers: list[str] = Field(min_length=1)
    topic: str = "cachesync.changes"
    dlq_topic: str = "cachesync.dlq"
    partitions: int = Field(default=12, ge=1, le=10_000)
    replication_factor: int = Field(default=1, ge=1, le=32)

    @field_validator("bootstrap_servers", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("bootstrap_servers")
    @classmethod
    def _host_port(cls, value: list[str]) -> list[str]:
        for item in value:
            host, sep, port = item.rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"{item!r} is not host:port")
        return value

    @field_validator("topic", "dlq_topic")
    @classmethod
    def _topic(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9._-]{1,249}", value):
            raise ValueError("Kafka topic names use letters, digits, '.', '_' and '-'")
        return value


class RegionConfig(_Model):
    redis_url: RedisDsn


class TableConfig(_Model):
    """How one source table maps to cache entries."""

    partition_key: str | None = None
    """User-key column that routes a row to a Kafka partition; default: the primary key."""
    version_column: str | None = None
    """Integer or DATETIME(6)/TIMESTAMP(6) column that increases on every change (also
    across delete and re-insert); default: versions derived from the binlog position."""
    cache_keys: list[str] = Field(min_length=1)
    """Cache-key templates such as ``user:{user_id}:profile``; names are columns."""
    action: Literal["invalidate", "rewrite"] = "invalidate"
    columns: list[str] | None = None
    """Projected columns stored by ``rewrite`` (default: every column)."""
    ttl_seconds: int = Field(default=3600, ge=1)
    tombstone_ttl_seconds: int = Field(default=86_400, ge=1)
    warm: bool = False
    """Whether the reconciler fills entries that are missing from a region."""
    commit_time_column: str | None = None
    """TIMESTAMP(6) (or DATETIME(6) written in UTC) column the database sets at write time,
    e.g. ``updated_at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE
    CURRENT_TIMESTAMP(6)``: consumers measure commit→applied latency from it with
    microsecond resolution (else from the binlog's commit time, in whole seconds)."""

    @field_validator("commit_time_column")
    @classmethod
    def _column(cls, value: str | None) -> str | None:
        if value is not None and not _IDENT.match(value):
            raise ValueError("must be a plain column name (letters, digits, _ and $)")
        return value

    @model_validator(mode="after")
    def _commit_time_projected(self) -> TableConfig:
        column = self.commit_time_column
        if column is not None and self.columns is not None and column not in self.columns:
            raise ValueError(f"commit_time_column {column!r} is not one of the table's columns")
        return self

    @field_validator("cache_keys")
    @classmethod
    def _templates(cls, value: list[str]) -> list[str]:
        for template in value:
            names = template_fields(template)
            if not names:
                raise ValueError(f"template {template!r} names no column")
        return value

    def template_columns(self) -> set[str]:
        return {name for template in self.cache_keys for name in template_fields(template)}


def template_fields(template: str) -> list[str]:
    """Column names a cache-key template refers to; ValueError if it is malformed."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"template {template!r} is malformed: {exc}") from None
    names: list[str] = []
    for _, field_name, format_spec, conversion in parsed:
        if field_name is None:
            continue
        if not field_name or not _IDENT.match(field_name) or format_spec or conversion:
            raise ValueError(f"template {template!r}: {{{field_name}}} is not a plain column")
        names.append(field_name)
    return names


class MetricsConfig(_Model):
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    """Port of the Prometheus endpoint; 0 disables it."""


class Settings(_Model):
    """The whole configuration file."""

    source: SourceConfig
    engine: EngineConfig = EngineConfig()
    kafka: KafkaConfig
    regions: dict[str, RegionConfig] = Field(min_length=1)
    tables: dict[str, TableConfig] = Field(min_length=1)
    metrics: MetricsConfig = MetricsConfig()

    @field_validator("regions")
    @classmethod
    def _region_names(cls, value: dict[str, RegionConfig]) -> dict[str, RegionConfig]:
        for name in value:
            if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,62}", name):
                raise ValueError(f"region name {name!r} must be lowercase letters, digits, - or _")
        return value

    @field_validator("tables")
    @classmethod
    def _table_names(cls, value: dict[str, TableConfig]) -> dict[str, TableConfig]:
        for name in value:
            db, dot, table = name.partition(".")
            if not dot or not _IDENT.match(db) or not _IDENT.match(table):
                raise ValueError(f"table {name!r} must be written db.table")
        return value

    @model_validator(mode="after")
    def _engine_not_published(self) -> Settings:
        for name in self.tables:
            if name.partition(".")[0] == self.engine.database:
                raise ValueError(
                    f"table {name!r} lives in the engine schema {self.engine.database!r}, "
                    "which is never published"
                )
        return self

    @property
    def engine_dsn(self) -> Dsn:
        return self.engine.dsn or self.source.dsn

    @property
    def schemas(self) -> list[str]:
        return sorted({name.partition(".")[0] for name in self.tables})


def _format_errors(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        location = ".".join(
            f'"{part}"' if isinstance(part, str) and "." in part else str(part)
            for part in error["loc"]
        ) or "<root>"
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{location}: {message}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def _set_path(tree: dict[str, Any], path: list[str], value: str) -> None:
    node = tree
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"environment override {'.'.join(path)}: {part} is not a table")
        node = child
    node[path[-1]] = yaml.safe_load(value) if value.strip() else value


def apply_env_overrides(raw: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """``CACHESYNC_KAFKA__TOPIC=x`` sets ``kafka.topic``; ``__`` separates levels.

    Values are parsed as YAML scalars (numbers, booleans, lists) except DSNs and URLs,
    which stay strings.
    """
    for name, value in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or ENV_NESTING not in name:
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX):].split(ENV_NESTING)]
        if any(not part for part in path):
            raise ConfigError(f"environment variable {name} has an empty path segment")
        if path[-1] in {"dsn", "redis_url"}:
            node = raw
            for part in path[:-1]:
                node = node.setdefault(part, {})
            node[path[-1]] = value
        else:
            _set_path(raw, path, value)
    return raw


def parse_settings(raw: Mapping[str, Any]) -> Settings:
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc)) from None


def load_settings(path: str | Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, override from the environment, and validate a configuration file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read configuration {file}: {exc.strerror}") from None
    try:
        if file.suffix in {".yaml", ".yml"}:
            loaded = yaml.safe_load(text) or {}
        else:
            loaded = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{file} is not valid {file.suffix.lstrip('.')}: {exc}") from None
    if not isinstance(loaded, dict):
        raise ConfigError(f"{file}: the top level must be a table of sections")
    raw = apply_env_overrides(loaded, os.environ if environ is None else environ)
    return parse_settings(raw)
