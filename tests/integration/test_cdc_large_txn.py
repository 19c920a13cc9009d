"""A 200k-row transaction streams through the worker: the checkpoint moves inside it.

The worker (``cachesync cdc run``, a real subprocess) may not hold a transaction until it
commits: the acknowledged prefix, and so the saved checkpoint's row index inside the
transaction, must advance while the transaction is still being published, and every row
must then arrive in Kafka exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from pathlib import Path

from cachesync.stack import StackInfo
from tests.integration.test_cdc_support import (
    cdc_setup,
    consume,
    create_table,
    mysql,
    start_here,
    topic_size,
    worker_process,
)

ROWS = 200_000


async def test_large_transaction_streams_with_moving_checkpoint(
        stack: StackInfo, tmp_path: Path) -> None:
    name = create_table(stack, "cdc_big", "id BIGINT PRIMARY KEY, pad VARCHAR(32) NOT NULL")
    setup = cdc_setup(stack, {f"app.{name}": {"cache_keys": [f"{name}:{{id}}"]}}, name=name,
                      server_id=4310)
    start_here(setup)
    log = tmp_path / "worker.log"
    proc = worker_process(setup.write_config(tmp_path), log)
    watcher = mysql(stack, None)
    try:
        with contextlib.closing(mysql(stack)) as conn, conn.cursor() as cur:
            cur.execute(f"INSERT INTO {name} SELECT seq, CONCAT('row ', seq) "
                        f"FROM seq_1_to_{ROWS}")
            cur.execute("SELECT @@last_gtid")
            gtid = str(cur.fetchone()[0])  # type: ignore[index]
        seq = int(gtid.rsplit("-", 1)[1])
        inside: list[int] = []  # the checkpoint's row indexes seen inside the transaction
        deadline = time.monotonic() + 600
        while True:
            watcher.ping()
            with watcher.cursor() as cur:
                cur.execute("SELECT gtid, row_index FROM cachesync.positions "
                            "WHERE source_name = %s", (name,))
                state, row_index = cur.fetchone()  # type: ignore[misc]
            done = int(str(state).split(",")[0].rsplit("-", 1)[1]) >= seq
            if done:
                break
            if row_index and (not inside or inside[-1] != row_index):
                inside.append(int(row_index))
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"the worker never finished ({inside[-5:]})"
            await asyncio.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, log.read_text()[-3000:]
        records = await consume(stack.kafka_bootstrap, setup.topic, timeout=300,
                                until=lambda got: len(got) >= ROWS)
        in_topic = await topic_size(stack.kafka_bootstrap, setup.topic)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        watcher.close()
    # Acknowledged rows moved the checkpoint, batch by batch, before the transaction's last
    # row was published (the checkpoint only passes the transaction once it is complete).
    assert len(inside) >= 2, inside
    assert inside == sorted(inside), inside
    assert 0 < inside[0] < inside[-1] < ROWS, (inside[0], inside[-1])
    assert in_topic == ROWS, "rows sent more than once"
    events = [record.event for record in records]
    assert len(events) == ROWS
    assert sorted(event.pk["id"] for event in events) == list(range(1, ROWS + 1))
    assert {event.source.gtid for event in events} == {gtid}
    assert sorted(event.source.row_index for event in events) == list(range(1, ROWS + 1))
