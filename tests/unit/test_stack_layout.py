"""The stack's pure layout: ports, generated configuration, grants."""

from __future__ import annotations

from pathlib import Path

import pytest

from cachesync.stack import layout


def test_ports_derive_from_base_and_avoid_standard_ports() -> None:
    ports = layout.Ports.from_base(13300)
    assert (ports.mariadb, ports.kafka, ports.kafka_controller) == (13306, 13392, 13393)
    assert ports.redis == {"east": 13379, "west": 13380}
    test = layout.Ports.from_base(23300)
    used = {ports.mariadb, ports.kafka, ports.kafka_controller, *ports.redis.values()}
    assert used.isdisjoint({test.mariadb, test.kafka, test.kafka_controller,
                            *test.redis.values()})
    assert used.isdisjoint({3306, 9092, 9093, 6379})


@pytest.mark.parametrize("base", [0, 80, 65001])
def test_base_port_out_of_range(base: int) -> None:
    with pytest.raises(ValueError, match="base port"):
        layout.Ports.from_base(base)


def test_mariadb_config_has_the_binlog_settings_cdc_needs(tmp_path: Path) -> None:
    cnf = layout.mariadb_cnf(tmp_path, 13306).splitlines()
    for line in ("binlog_format=ROW", "binlog_row_image=FULL", "binlog_row_metadata=FULL",
                 "gtid_strict_mode=ON", "port=13306", "bind-address=127.0.0.1", "user=root"):
        assert line in cnf
    assert any(line.startswith("log_bin=") for line in cnf)
    assert all(str(tmp_path) in line for line in cnf if line.startswith(("datadir", "socket")))


def test_replication_user_is_least_privilege() -> None:
    grants = [g for g in layout.init_sql() if g.startswith("GRANT") and "cachesync'@" in g]
    assert len(grants) == 6
    on_all = [g for g in grants if " ON *.* " in g]
    assert all("REPLICATION SLAVE, BINLOG MONITOR ON" in g for g in on_all)
    assert not any("ALL ON *.*" in g for g in grants)


def test_kafka_is_single_node_kraft_on_loopback(tmp_path: Path) -> None:
    props = dict(
        line.split("=", 1)
        for line in layout.kafka_properties(tmp_path, layout.Ports.from_base(13300)).splitlines()
        if line
    )
    assert props["process.roles"] == "broker,controller"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:13392,CONTROLLER://127.0.0.1:13393"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["auto.create.topics.enable"] == "false"


def test_redis_has_no_persistence(tmp_path: Path) -> None:
    args = layout.redis_args(tmp_path, "east", 13379)
    assert args[args.index("--save") + 1] == ""
    assert args[args.index("--appendonly") + 1] == "no"
    assert args[args.index("--bind") + 1] == "127.0.0.1"
