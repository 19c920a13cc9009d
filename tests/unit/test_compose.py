"""The Docker path can't run here, so check the compose file's shape and MySQL's flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from schemas.config import load_settings

COMPOSE = Path(__file__).resolve().parents[2] / "compose"


def load() -> dict[str, Any]:
    data = yaml.safe_load((COMPOSE / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def test_services_present() -> None:
    services = load()["services"]
    assert {"mysql", "kafka", "redis-east", "redis-west", "cdc", "consumer-east",
            "consumer-west", "migrate"} <= set(services)


def test_mysql_binlog_flags() -> None:
    mysql = load()["services"]["mysql"]
    assert mysql["image"].startswith("mysql:8.4")
    flags = set(mysql["command"])
    for flag in ("--binlog-format=ROW", "--binlog-row-image=FULL", "--binlog-row-metadata=FULL",
                 "--gtid-mode=ON", "--enforce-gtid-consistency=ON"):
        assert flag in flags
    assert any(flag.startswith("--log-bin") for flag in flags)
    assert any(flag.startswith("--server-id=") for flag in flags)


def test_kafka_is_kraft() -> None:
    env = load()["services"]["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "ZOOKEEPER" not in " ".join(env)


def test_workers_use_a_valid_config_with_each_region() -> None:
    settings = load_settings(COMPOSE / "cachesync.toml", environ={})
    services = load()["services"]
    for region in settings.regions:
        command = services[f"consumer-{region}"]["command"]
        assert command[command.index("--region") + 1] == region
        assert f"redis-{region}" in settings.regions[region].redis_url.host
    assert settings.source.flavor == "mysql"
