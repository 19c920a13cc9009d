"""The local stack's layout, pure: ports, paths and generated configuration files.

Everything lives under one data directory; every port derives from one base port, so a dev
stack (base 13300) and a test stack (base 23300) run side by side and never touch the
standard ports (3306, 9092, 6379) of services that may already run on the machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

KAFKA_VERSION: Final = "4.4.0"
"""Apache Kafka release run by the local stack (``compose/kafka/pom.xml`` gets it as
``-Dkafka.version``, so the two cannot drift).

4.4.0 is the newest release on Maven Central (November 2026) and aiokafka 0.14 works with it.
Kafka 4.0 dropped old protocol versions (KIP-896) but kept the Metadata versions aiokafka
uses (KAFKA-18648); against this broker we ran create/describe/delete topics, an idempotent
producer, a consumer group with a rebalance listener, commit and committed offsets,
beginning/end offsets, offsets for times, consumer-group listing and offsets, a transaction,
and every integration test of this repository. Its jars are Java 17 bytecode (class version
61), so the machine's Java 17 runs it; a broker data directory formatted by 4.1.1 starts
under it unchanged (its metadata.version stays until someone upgrades the feature)."""

ROOT_PASSWORD: Final = "cachesync-root"
REPL_USER: Final = "cachesync"
REPL_PASSWORD: Final = "cachesync"
APP_SCHEMA: Final = "app"
ENGINE_SCHEMA: Final = "cachesync"
REGIONS: Final = ("east", "west")

GRANTS: Final = (
    f"GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO '{REPL_USER}'@'{{host}}'",
    f"GRANT SELECT ON {APP_SCHEMA}.* TO '{REPL_USER}'@'{{host}}'",
    f"GRANT ALL ON {ENGINE_SCHEMA}.* TO '{REPL_USER}'@'{{host}}'",
)
"""The replication user's only rights (``{host}``: 127.0.0.1 and localhost).

Checked on MariaDB 10.11: REPLICATION SLAVE alone opens the binlog dump that
python-mysql-replication streams from (by GTID), and nothing else; BINLOG MONITOR (10.5's name
for REPLICATION CLIENT) alone allows SHOW MASTER STATUS (SHOW BINLOG STATUS), SHOW BINARY LOGS
and SHOW BINLOG EVENTS, and no dump. Not granted, not needed: REPLICATION MASTER ADMIN (SHOW
SLAVE HOSTS) and SLAVE MONITOR (SHOW SLAVE STATUS), since cachesync is not a replica and lists
none. SELECT on the application schema: table metadata (information_schema shows only what the
user may read) and the reconciler's snapshot reads; ALL on the engine's own schema."""

DEFAULT_DATA_DIR: Final = Path(".cachesync/stack")
DEFAULT_BASE_PORT: Final = 13300


@dataclass(frozen=True, slots=True)
class Ports:
    mariadb: int
    kafka: int
    kafka_controller: int
    redis: dict[str, int]

    @classmethod
    def from_base(cls, base: int) -> Ports:
        if not 1024 <= base <= 65_000:
            raise ValueError(f"base port {base} must be between 1024 and 65000")
        return cls(
            mariadb=base + 6,
            kafka=base + 92,
            kafka_controller=base + 93,
            redis={"east": base + 79, "west": base + 80},
        )


@dataclass(frozen=True, slots=True)
class StackInfo:
    """How to reach a running stack."""

    data_dir: Path
    mariadb_port: int
    root_dsn: str
    repl_dsn: str
    kafka_bootstrap: str
    redis_urls: dict[str, str]


def stack_info(data_dir: Path, ports: Ports) -> StackInfo:
    return StackInfo(
        data_dir=data_dir,
        mariadb_port=ports.mariadb,
        root_dsn=f"mysql://root:{ROOT_PASSWORD}@127.0.0.1:{ports.mariadb}/",
        repl_dsn=f"mysql://{REPL_USER}:{REPL_PASSWORD}@127.0.0.1:{ports.mariadb}/",
        kafka_bootstrap=f"127.0.0.1:{ports.kafka}",
        redis_urls={name: f"redis://127.0.0.1:{port}/0" for name, port in ports.redis.items()},
    )


def kafka_cache_dir() -> Path:
    """Where the Kafka jars are kept between runs (``CACHESYNC_KAFKA_CACHE`` overrides)."""
    override = os.environ.get("CACHESYNC_KAFKA_CACHE")
    if override:
        return Path(override)
    return Path.home() / ".cache" / "cachesync" / f"kafka-{KAFKA_VERSION}"


def mariadb_cnf(data_dir: Path, port: int) -> str:
    base = data_dir / "mariadb"
    return "\n".join(
        [
            "[mariadbd]",
            "user=root",
            f"datadir={base / 'data'}",
            f"socket={base / 'mariadb.sock'}",
            f"pid-file={base / 'mariadb.pid'}",
            f"log-error={base / 'mariadb.log'}",
            f"port={port}",
            "bind-address=127.0.0.1",
            "server_id=1",
            f"log_bin={base / 'data' / 'mariadb-bin'}",
            "binlog_format=ROW",
            "binlog_row_image=FULL",
            "binlog_row_metadata=FULL",
            "gtid_strict_mode=ON",
            "gtid_domain_id=0",
            "character_set_server=utf8mb4",
            "collation_server=utf8mb4_general_ci",
            "innodb_buffer_pool_size=256M",
            "innodb_log_file_size=256M",
            "innodb_flush_log_at_trx_commit=2",
            "sync_binlog=0",
            # A development stack: binlog files older than a day go (at the next rotation),
            # as Kafka's records do, so that runs and tests do not fill the disk.
            "binlog_expire_logs_seconds=86400",
            "max_connections=500",
            "skip-name-resolve",
            "",
        ]
    )


def init_sql() -> list[str]:
    """Statements run once on a new MariaDB: root over TCP, schemas, the replication user."""
    statements = [
        f"CREATE DATABASE IF NOT EXISTS {APP_SCHEMA}",
        f"CREATE DATABASE IF NOT EXISTS {ENGINE_SCHEMA}",
    ]
    for host in ("127.0.0.1", "localhost"):
        statements += [
            f"CREATE USER IF NOT EXISTS 'root'@'{host}' IDENTIFIED BY '{ROOT_PASSWORD}'",
            f"ALTER USER 'root'@'{host}' IDENTIFIED BY '{ROOT_PASSWORD}'",
            f"GRANT ALL ON *.* TO 'root'@'{host}' WITH GRANT OPTION",
            f"CREATE USER IF NOT EXISTS '{REPL_USER}'@'{host}' IDENTIFIED BY '{REPL_PASSWORD}'",
        ]
        statements += [grant.format(host=host) for grant in GRANTS]
    return statements


def kafka_properties(data_dir: Path, ports: Ports) -> str:
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.bootstrap.servers=127.0.0.1:{ports.kafka_controller}",
            f"listeners=PLAINTEXT://127.0.0.1:{ports.kafka},"
            f"CONTROLLER://127.0.0.1:{ports.kafka_controller}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{ports.kafka}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={data_dir / 'kafka' / 'data'}",
            "num.partitions=1",
            "auto.create.topics.enable=false",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=4",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "transaction.state.log.num.partitions=4",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "log.retention.hours=24",
            # Retention deletes closed segments only, and a segment closes at 1 GiB or after
            # log.roll.hours (7 days by default): without this, the topics that runs and
            # tests leave behind would stay on disk for a week.
            "log.roll.hours=1",
            "",
        ]
    )


def kafka_log4j(data_dir: Path) -> str:
    return "\n".join(
        [
            "rootLogger.level=INFO",
            "rootLogger.appenderRef.file.ref=file",
            "appender.file.type=File",
            "appender.file.name=file",
            f"appender.file.fileName={data_dir / 'kafka' / 'kafka.log'}",
            "appender.file.layout.type=PatternLayout",
            "appender.file.layout.pattern=[%d] %p %m (%c)%n",
            "",
        ]
    )


def redis_args(data_dir: Path, region: str, port: int) -> list[str]:
    base = data_dir / f"redis-{region}"
    return [
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--save", "",
        "--appendonly", "no",
        "--daemonize", "no",
        "--dir", str(base),
        "--logfile", str(base / "redis.log"),
        "--pidfile", str(base / "redis.pid"),
    ]
