"""The services are real: a binlog with row events, a Kafka broker, two Redis servers."""

from __future__ import annotations

import pymysql
import redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.partitioner import DefaultPartitioner
from pymysqlreplication import BinLogStreamReader
from pymysqlreplication.row_event import WriteRowsEvent

from cachesync.stack import Stack, StackInfo
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


async def test_kafka_record_comes_back_on_the_partition_of_its_key(stack: StackInfo) -> None:
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
        batch = await consumer.getmany(timeout_ms=10_000)
        while not batch:
            batch = await consumer.getmany(timeout_ms=10_000)
    finally:
        await consumer.stop()
    [(partition, records)] = batch.items()
    assert partition.partition == expected
    assert [(r.key, r.value) for r in records] == [(b"user-42", b"value")]


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
