"""The services are real: a binlog with row events, a Kafka broker, two Redis servers."""

from __future__ import annotations

import socket
from pathlib import Path

import pymysql
import redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.partitioner import DefaultPartitioner
from pymysqlreplication import BinLogStreamReader
from pymysqlreplication.row_event import WriteRowsEvent

from cachesync.stack import Ports, Stack, StackInfo
from cachesync.stack.probes import redis_ping
from tests.integration.conftest import unique_name


def test_row_written_to_mariadb_is_in_the_binlog(
    stack: StackInfo, mariadb_root: pymysql.Connection[pymysql.cursors.Cursor]
) -> None:
    table = unique_name("t")
    with mariadb_root.cursor() as cur:
        cur.execute("SELECT @@gtid_binlog_pos")
        (start,) = cur.fetchone() or ("",)
        cur.execute(f"CREATE TABLE app.{table} (id INT PRIMARY KEY, name VARCHAR(20))")
        cur.execute(f"INSERT INTO app.{table} VALUES (1, 'ada')")
    reader = BinLogStreamReader(
        connection_settings={"host": "127.0.0.1", "port": stack.mariadb_port,
                             "user": "cachesync", "password": "cachesync"},
        server_id=9101, is_mariadb=True, auto_position=start or "0-1-0", blocking=False,
        only_events=[WriteRowsEvent], only_schemas=["app"], only_tables=[table],
    )
    try:
        rows = [row["values"] for event in reader for row in event.rows]
    finally:
        reader.close()
    assert rows == [{"id": 1, "name": "ada"}]


async def test_kafka_record_comes_back_on_the_partition_of_its_key_and_commits(
    stack: StackInfo,
) -> None:
    topic = unique_name("topic")
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=6, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, b"value", key=b"user-42")
    finally:
        await producer.stop()
    expected = DefaultPartitioner()(b"user-42", list(range(6)), list(range(6)))
    assert sent.partition == expected

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=stack.kafka_bootstrap,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                group_id=unique_name("g"))
    await consumer.start()
    try:
        batch = {}
        for _ in range(6):  # the group's first join can take a few polls
            batch = await consumer.getmany(timeout_ms=5_000)
            if batch:
                break
        [(partition, records)] = batch.items()
        await consumer.commit()
        committed = await consumer.committed(partition)
    finally:
        await consumer.stop()
    assert partition.partition == expected
    assert [(r.key, r.value) for r in records] == [(b"user-42", b"value")]
    assert committed == records[-1].offset + 1


def test_both_redis_regions_answer(stack: StackInfo) -> None:
    key = unique_name("k")
    assert set(stack.redis_urls) == {"east", "west"}
    for region, url in stack.redis_urls.items():
        client = redis.Redis.from_url(url)
        try:
            client.set(key, region)
            assert client.get(key) == region.encode()
        finally:
            client.close()


def test_status_reports_every_service_healthy(stack_control: Stack) -> None:
    rows = stack_control.status()
    assert [row.name for row in rows] == ["mariadb", "kafka", "redis-east", "redis-west"]
    assert all(row.healthy and row.pid is not None for row in rows)


def test_a_stopped_service_is_down_until_started_again(tmp_path: Path) -> None:
    # A private stack of one Redis on a free port: stopping a service of the shared test
    # stack would disturb tests running against it at the same time.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    east_offset = Ports.from_base(10_000).redis["east"] - 10_000
    control = Stack(tmp_path, free_port - east_offset)
    try:
        control.start_service("redis-east")
        [before] = [row for row in control.status() if row.name == "redis-east"]
        assert before.healthy
        assert control.stop_service("redis-east")
        [stopped] = [row for row in control.status() if row.name == "redis-east"]
        assert (stopped.pid, stopped.healthy) == (None, False)
        assert not redis_ping(stopped.port)
        control.start_service("redis-east")
        [after] = [row for row in control.status() if row.name == "redis-east"]
        assert after.healthy and after.pid != before.pid
    finally:
        control.down()
    assert all(row.pid is None for row in control.status())

