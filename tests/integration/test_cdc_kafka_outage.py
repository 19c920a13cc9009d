"""Kafka down for longer than the producer's request timeout: the CDC worker stays up and
nothing committed is lost. Depending on where the outage catches its sends, aiokafka either
holds them until the broker is back or fails them, and then the worker replaces its producer
and resends from the checkpoint (before that fix, the worker ended or stalled here)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from pathlib import Path

from cachesync.stack import Stack, StackInfo
from tests.integration.test_cdc_support import (
    cdc_setup,
    consume,
    create_table,
    mysql,
    start_here,
    worker_process,
)

OUTAGE_S = 50.0
"""Longer than aiokafka's request timeout (40 s), after which its sends fail for good."""


def _insert(stack: StackInfo, table: str, first: int, count: int) -> None:
    with contextlib.closing(mysql(stack)) as conn, conn.cursor() as cur:
        for seq in range(first, first + count):
            cur.execute(f"INSERT INTO {table} VALUES (%s)", (seq,))


async def test_worker_survives_a_long_kafka_outage(stack_control: Stack, stack: StackInfo,
                                                  tmp_path: Path) -> None:
    name = create_table(stack, "cdc_kafka_down", "seq BIGINT PRIMARY KEY")
    setup = cdc_setup(stack, {f"app.{name}": {"cache_keys": [f"{name}:{{seq}}"]}}, name=name)
    start_here(setup)
    log = tmp_path / "worker.log"
    proc = worker_process(setup.write_config(tmp_path), log)
    bootstrap = stack.kafka_bootstrap
    try:
        await asyncio.to_thread(_insert, stack, name, 1, 100)
        await consume(bootstrap, setup.topic, until=lambda records: len(records) >= 100)
        stopped = await asyncio.to_thread(stack_control.stop_service, "kafka")
        assert stopped, "the test stack's Kafka was not running"
        try:
            await asyncio.to_thread(_insert, stack, name, 101, 200)
            deadline = time.monotonic() + OUTAGE_S
            while time.monotonic() < deadline:
                assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
                await asyncio.sleep(1)
        finally:
            await asyncio.to_thread(stack_control.start_service, "kafka")
        await asyncio.to_thread(_insert, stack, name, 301, 100)
        records = await consume(
            bootstrap, setup.topic, timeout=120,
            until=lambda records: {r.event.pk["seq"] for r in records} >= set(range(1, 401)))
        assert proc.poll() is None, "the worker exited: " + log.read_text(errors="replace")[-3000:]
        assert {r.event.pk["seq"] for r in records} == set(range(1, 401))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == 0, log.read_text(errors="replace")[-3000:]
