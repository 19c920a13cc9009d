"""SIGKILL the worker three times during a 100k-row workload: nothing committed is lost.

Two kills land at random moments while a writer commits a mix of single-row and
1,000-row transactions; the third lands while the checkpoint is inside a 5,000-row
transaction, so the restart resumes in the middle of it: the rows the checkpoint covers
are not sent again, the rest are. The worker is finally stopped with SIGTERM and must exit 0.
"""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import pymysql

from cachesync.stack import StackInfo
from tests.integration.test_cdc_support import (
    cdc_setup,
    consume,
    create_table,
    mysql,
    start_here,
    worker_process,
)

TOTAL_ROWS = 100_000
PHASE_A_ROWS = 45_000
BIG_TXN_ROWS = 5_000


class Writer:
    """Inserts rows with consecutive ``seq`` values from 1, in transactions of given sizes."""

    def __init__(self, stack: StackInfo, table: str) -> None:
        self._conn = mysql(stack)
        self._table = table
        self.seq = 0

    def close(self) -> None:
        self._conn.close()

    def statement(self, rows: int) -> None:
        """One multi-row INSERT (its own transaction)."""
        with self._conn.cursor() as cur:
            cur.executemany(f"INSERT INTO {self._table} VALUES (%s, %s)",
                            [(self.seq + i, f"row {self.seq + i}") for i in range(1, rows + 1)])
        self.seq += rows

    def one_transaction(self, rows: int) -> str:
        """``rows`` single-row INSERTs in one transaction (one rows event each); its GTID."""
        self._conn.begin()
        with self._conn.cursor() as cur:
            for _ in range(rows):
                self.seq += 1
                cur.execute(f"INSERT INTO {self._table} VALUES (%s, %s)",
                            (self.seq, f"row {self.seq}"))
            self._conn.commit()
            cur.execute("SELECT @@last_gtid")
            return str(cur.fetchone()[0])  # type: ignore[index]

    def gtid_position(self) -> str:
        with self._conn.cursor() as cur:
            cur.execute("SELECT @@gtid_binlog_pos")
            return str(cur.fetchone()[0])  # type: ignore[index]


def _seq(gtid: str) -> int:
    return int(gtid.rsplit("-", 1)[1])


def _checkpoint(conn: pymysql.Connection[pymysql.cursors.Cursor], name: str
                ) -> tuple[str, int]:
    with conn.cursor() as cur:
        cur.execute("SELECT gtid, row_index FROM cachesync.positions WHERE source_name = %s",
                    (name,))
        gtid, row_index = cur.fetchone()  # type: ignore[misc]
    return str(gtid), int(row_index)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


async def test_sigkill_three_times_loses_nothing(stack: StackInfo, tmp_path: Path) -> None:
    name = create_table(stack, "cdc_kill", "seq BIGINT PRIMARY KEY, pad VARCHAR(32) NOT NULL")
    setup = cdc_setup(stack, {f"app.{name}": {"cache_keys": [f"{name}:{{seq}}"]}}, name=name)
    start_here(setup)
    config = setup.write_config(tmp_path)
    log = tmp_path / "worker.log"
    rng = random.Random()
    writer = Writer(stack, name)
    watcher = mysql(stack, None)
    proc = worker_process(config, log)
    try:
        # Phase A: 45k rows as single-row and 1,000-row transactions; two kills at random
        # moments while they are written and streamed.
        def phase_a() -> None:
            while writer.seq < PHASE_A_ROWS:
                for _ in range(100):
                    writer.statement(1)
                writer.statement(900)
                for _ in range(4):
                    writer.statement(1000)

        thread = threading.Thread(target=phase_a)
        thread.start()
        for _ in range(2):
            await asyncio.sleep(rng.uniform(0.2, 1.5))
            _kill(proc)
            proc = worker_process(config, log)
        await asyncio.to_thread(thread.join)
        phase_a_end = _seq(writer.gtid_position())
        deadline = time.monotonic() + 90
        while _seq(_checkpoint(watcher, name)[0]) < phase_a_end:
            assert time.monotonic() < deadline, "the worker never caught up with phase A"
            await asyncio.sleep(0.05)

        # Phase B: a 5,000-row transaction; kill once the checkpoint is inside it.
        big_gtid = await asyncio.to_thread(writer.one_transaction, BIG_TXN_ROWS)
        deadline = time.monotonic() + 60
        while True:
            gtid, inside = _checkpoint(watcher, name)
            if inside > 0 or _seq(gtid) >= _seq(big_gtid):
                break
            assert time.monotonic() < deadline, "the worker never reached the big transaction"
            await asyncio.sleep(0.005)
        _kill(proc)
        assert 0 < inside < BIG_TXN_ROWS, (
            f"the checkpoint was never seen inside the big transaction ({gtid}, {inside})")
        proc = worker_process(config, log)

        # Phase C: the rest, with the worker running to the end.
        while writer.seq < TOTAL_ROWS:
            writer.statement(min(1000, TOTAL_ROWS - writer.seq))
        records = await consume(
            stack.kafka_bootstrap, setup.topic, timeout=120,
            until=lambda got: len({r.event.pk["seq"] for r in got}) >= TOTAL_ROWS)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            _kill(proc)
        writer.close()
        watcher.close()
    assert {r.event.pk["seq"] for r in records} == set(range(1, TOTAL_ROWS + 1))
    assert all(r.event.op == "insert" for r in records)
    big = [r.event for r in records if r.event.source.gtid == big_gtid]
    assert {e.source.row_index for e in big} == set(range(1, BIG_TXN_ROWS + 1))
    covered = [e.source.row_index for e in big if e.source.row_index <= inside]
    assert sorted(covered) == list(range(1, inside + 1)), "rows under the checkpoint re-sent"
