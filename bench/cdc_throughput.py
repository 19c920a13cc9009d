"""CDC worker throughput against a plain python-mysql-replication loop and ``mariadb-binlog``.

    .venv/bin/python -m bench.cdc_throughput [--stack-dir DIR --base-port N]
        [--single-rows 200000] [--batch-rows 200000] [--rounds 3] [--skip-debezium]

Builds two binlog ranges on the local stack (its own tables, each range in its own binlog
files): ``single_row`` (one-row INSERT transactions) and ``batch_1000`` (INSERT statements
of 1,000 rows). For each range it measures, in one run:

- ``worker``: a child process runs :class:`cdc.worker.CdcWorker` from a checkpoint at the
  range's start until the checkpoint (the Kafka-acknowledged prefix) reaches its end;
  timed from its first acknowledged checkpoint, so start-up (catalog checks, topic,
  producer, spawning the reader process: about a second) is not counted;
- ``plain_loop``: a bare ``BinLogStreamReader`` loop over the same range that touches every
  row's values (the library's own speed), timed from its first rows event;
- ``mariadb_binlog``: ``mariadb-binlog -v`` over copies of the range's binlog files,
  counting ``### INSERT`` lines;
- ``debezium``: Debezium's MariaDB connector in its embedded engine from the range's start,
  counting its Connect records, timed from the first (:mod:`bench.debezium_rate`; skipped
  with ``--skip-debezium``).

The readers take turns for ``--rounds`` rounds and each reports its best round, so a burst
of other work on the machine does not decide the comparison. It also reports the worker's
peak RSS: both of its processes (``VmHWM`` of the asyncio side plus the reader child's
``ru_maxrss``). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql

from bench import debezium_rate
from bench.proc import add_stack_options, cpu_seconds, process_tree, status_kb

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Range:
    table: str
    rows: int
    start_gtid: str
    start_file: str
    start_pos: int
    end_seq: int
    files: list[str]


def _connect(port: int) -> pymysql.Connection[pymysql.cursors.Cursor]:
    return pymysql.connect(host="127.0.0.1", port=port, user="root", password="cachesync-root",
                           autocommit=True)


def _execute(port: int, sql: str, *args: Any) -> None:
    conn = _connect(port)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args or None)
    finally:
        conn.close()


def build(port: int, label: str, rows: int, per_statement: int) -> Range:
    """One table, written in its own binlog files, ``per_statement`` rows per INSERT."""
    table = f"bench_{label}_{uuid.uuid4().hex[:6]}"
    conn = _connect(port)
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS app")
        cur.execute(f"CREATE TABLE app.{table} (id BIGINT PRIMARY KEY, user_id INT NOT NULL, "
                    "name VARCHAR(64) NOT NULL, amount DECIMAL(12,2) NOT NULL, "
                    "created DATETIME(6) NOT NULL)")
        cur.execute("FLUSH BINARY LOGS")
        cur.execute("SHOW MASTER STATUS")
        file, pos = cur.fetchone()[:2]  # type: ignore[index]
        cur.execute("SELECT @@GLOBAL.gtid_binlog_pos")
        start_gtid = str(cur.fetchone()[0])  # type: ignore[index]
        sql = f"INSERT INTO app.{table} VALUES (%s, %s, %s, %s, %s)"
        if per_statement == 1:
            for i in range(1, rows + 1):
                cur.execute(sql, (i, i % 9973, f"user{i}", i / 100, "2024-01-02 03:04:05.123456"))
        else:
            for first in range(1, rows + 1, per_statement):
                cur.executemany(sql, [
                    (i, i % 9973, f"user{i}", i / 100, "2024-01-02 03:04:05.123456")
                    for i in range(first, min(first + per_statement, rows + 1))
                ])
        cur.execute("SELECT @@GLOBAL.gtid_binlog_pos")
        end_gtid = str(cur.fetchone()[0])  # type: ignore[index]
        cur.execute("FLUSH BINARY LOGS")
        cur.execute("SHOW BINARY LOGS")
        names = [str(row[0]) for row in cur.fetchall()]
    conn.close()
    files = names[names.index(str(file)):-1]
    return Range(table, rows, start_gtid, str(file), int(pos), _seq(end_gtid), files)


def _replica_id() -> int:
    """A replica server_id of its own: two readers with one id kick each other off."""
    return 100_000 + uuid.uuid4().int % 1_000_000_000


def _seq(gtid: str) -> int:
    return int(gtid.split(",", maxsplit=1)[0].rsplit("-", 1)[1])


def plain_loop(port: int, span: Range) -> float:
    from pymysqlreplication import BinLogStreamReader  # noqa: PLC0415
    from pymysqlreplication.event import (  # noqa: PLC0415
        MariadbGtidEvent,
        QueryEvent,
        RotateEvent,
        XidEvent,
    )
    from pymysqlreplication.row_event import (  # noqa: PLC0415
        DeleteRowsEvent,
        UpdateRowsEvent,
        WriteRowsEvent,
    )

    stream = BinLogStreamReader(
        connection_settings={"host": "127.0.0.1", "port": port, "user": "root",
                             "passwd": "cachesync-root"},
        server_id=_replica_id(), blocking=True, is_mariadb=True, auto_position=span.start_gtid,
        only_schemas=["app"], only_tables=[span.table], freeze_schema=False,
        only_events=[MariadbGtidEvent, XidEvent, QueryEvent, RotateEvent, WriteRowsEvent,
                     UpdateRowsEvent, DeleteRowsEvent],
    )
    rows = 0
    seq = 0
    started: float | None = None
    try:
        for event in stream:
            if isinstance(event, MariadbGtidEvent):
                seq = _seq(event.gtid)
            elif isinstance(event, WriteRowsEvent):
                if started is None:
                    started = time.perf_counter()
                for row in event.rows:
                    rows += len(row["values"]) > 0
            elif isinstance(event, XidEvent) and seq >= span.end_seq:
                break
    finally:
        stream.close()
    assert started is not None
    elapsed = time.perf_counter() - started
    assert rows == span.rows, (rows, span.rows)
    return rows / elapsed


def mariadb_binlog(data_dir: Path, span: Range) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        copies = []
        for name in span.files:
            copy = Path(tmp) / name
            shutil.copyfile(data_dir / "mariadb" / "data" / name, copy)
            copies.append(str(copy))
        marker = f"### INSERT INTO `app`.`{span.table}`".encode()
        started = time.perf_counter()
        proc = subprocess.Popen(["mariadb-binlog", "-v", *copies], stdout=subprocess.PIPE)
        assert proc.stdout is not None
        rows = sum(1 for line in proc.stdout if line.startswith(marker))
        proc.wait()
        elapsed = time.perf_counter() - started
    assert rows == span.rows, (rows, span.rows)
    return rows / elapsed


@dataclass(frozen=True)
class WorkerRun:
    rows_per_s: float
    peak_rss_mb: float
    reader_cpu_us_per_row: float
    """CPU of the reader process per row (decoding), while timed."""
    publisher_cpu_us_per_row: float
    """CPU of the asyncio process per row (assembling, Kafka, checkpoints), while timed."""


def worker(info: Any, span: Range, label: str, rows_per_txn: int) -> WorkerRun:
    from cachesync.kafka import delete_topics  # noqa: PLC0415 (not in the timed child)

    name = f"bench_{label}_{uuid.uuid4().hex[:6]}"
    raw = {
        "source": {"dsn": info.repl_dsn, "name": name, "server_id": _replica_id()},
        "kafka": {"bootstrap_servers": [info.kafka_bootstrap], "topic": name, "partitions": 4},
        "regions": {region: {"redis_url": url} for region, url in info.redis_urls.items()},
        "tables": {f"app.{span.table}": {"cache_keys": [f"{span.table}:{{id}}"]}},
    }
    job = {"raw": raw, "start": [span.start_gtid, span.start_file, span.start_pos],
           "end_seq": span.end_seq, "rows": span.rows, "rows_per_txn": rows_per_txn}
    try:
        proc = subprocess.run([sys.executable, "-m", "bench.cdc_throughput", "--child"],
                              input=json.dumps(job), capture_output=True, text=True, cwd=REPO,
                              check=False, env={**os.environ, "TZ": "UTC"})
    finally:  # what the run created: its topic and its checkpoint
        asyncio.run(delete_topics(info.kafka_bootstrap, [name]))
        _execute(info.mariadb_port, "DELETE FROM cachesync.positions WHERE source_name = %s",
                 name)
    if proc.returncode != 0:
        raise RuntimeError(f"worker child failed:\n{proc.stderr[-4000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    rows = result["rows"]
    return WorkerRun(rows / result["seconds"], result["peak_rss_mb"],
                     result["reader_cpu_s"] / rows * 1e6, result["publisher_cpu_s"] / rows * 1e6)


async def _child_run(job: dict[str, Any]) -> dict[str, float]:
    from cachesync import db, gctune  # noqa: PLC0415
    from cdc.checkpoint import CheckpointStore  # noqa: PLC0415
    from cdc.position import Position  # noqa: PLC0415
    from cdc.worker import CdcWorker  # noqa: PLC0415
    from schemas.config import parse_settings  # noqa: PLC0415

    gctune.tune()  # as `cachesync cdc run` does
    settings = parse_settings(job["raw"])
    db.upgrade(settings)
    store = CheckpointStore(db.engine_for(settings), settings.source.name)
    gtid, file, pos = job["start"]
    store.save(Position(gtid, file, pos), 1, None, 0)
    stop = asyncio.Event()
    task = asyncio.create_task(CdcWorker(settings).run(stop))
    start_seq, per_txn = _seq(gtid), job["rows_per_txn"]
    first: tuple[float, int] | None = None
    cpu_at_first = (0.0, 0.0)
    while True:
        stored = await asyncio.to_thread(store.load)
        assert stored is not None
        now = time.perf_counter()
        position = stored.position
        if position.gtid and position != (gtid, file, pos, 0):
            done = (_seq(position.gtid) - start_seq) * per_txn + position.row_index
            if first is None:
                first = (now, done)  # the first acknowledged checkpoint: start-up is over
                cpu_at_first = _cpu_seconds()
            if _seq(position.gtid) >= job["end_seq"]:
                break
        if task.done():
            task.result()
            raise RuntimeError("the worker stopped early")
        # Polled from the worker's own process: often enough for its 0.2 s checkpoints,
        # rarely enough not to cost it CPU.
        await asyncio.sleep(0.1)
    assert first is not None
    if first[1] >= job["rows"]:
        raise RuntimeError(f"the worker acknowledged all {job['rows']} rows at its first "
                           "checkpoint, so there is no window to time: use a larger range")
    publisher_cpu, reader_cpu = _cpu_seconds()
    stop.set()
    await task
    # Both processes of the worker (asyncio side and the reader child) at their peaks.
    reader_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"seconds": now - first[0], "rows": job["rows"] - first[1],
            "peak_rss_mb": ((status_kb(os.getpid(), "VmHWM:") or 0) + reader_kb) / 1024,
            "publisher_cpu_s": publisher_cpu - cpu_at_first[0],
            "reader_cpu_s": reader_cpu - cpu_at_first[1]}


def _cpu_seconds() -> tuple[float, float]:
    """CPU time so far of this process (the worker's asyncio side, every thread) and of its
    child processes (the binlog reader)."""
    reader = sum((cpu_seconds(pid) for pid in process_tree(os.getpid())[1:]), 0.0)
    return time.process_time(), reader


MIN_RANGE_ROWS = 50_000
"""Fewer rows are read before the worker's first checkpoint, which starts the clock."""


def _range_rows(text: str) -> int:
    rows = int(text)
    if rows < MIN_RANGE_ROWS:
        raise argparse.ArgumentTypeError(f"at least {MIN_RANGE_ROWS} rows, not {rows} (the "
                                         "worker is timed from its first checkpoint)")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_stack_options(parser, "stack-cdc", 24300)
    # The worker's rate is timed between acknowledged checkpoints (saved every 0.2 s,
    # polled every 0.1 s): a range read in about a second (30,000 rows) measured 24-34k
    # rows/s where 200,000 rows measure 39k.
    parser.add_argument("--single-rows", type=_range_rows, default=200_000)
    parser.add_argument("--batch-rows", type=_range_rows, default=200_000)
    parser.add_argument("--rounds", type=int, default=3,
                        help="measure each reader this many times, taking turns; keep the best")
    parser.add_argument("--skip-debezium", action="store_true",
                        help="leave out the Debezium baseline (a quicker run)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_child_run(json.loads(sys.stdin.read())))))
        return

    from cachesync.stack import Stack  # noqa: PLC0415

    stack = Stack(Path(args.stack_dir), args.base_port)
    info = stack.up()
    results: dict[str, Any] = {}
    peak = 0.0
    for label, rows, per_statement in (("single_row", args.single_rows, 1),
                                       ("batch_1000", args.batch_rows, 1000)):
        started = time.perf_counter()
        span = build(info.mariadb_port, label, rows, per_statement)
        print(f"built {label}: {rows} rows in {len(span.files)} binlog file(s) "
              f"({time.perf_counter() - started:.1f} s)", flush=True)
        # The readers take turns, round after round, and each keeps its best round:
        # other work on the machine comes and goes, and would otherwise favour whichever
        # reader happened to run in a quiet moment.
        best = dict.fromkeys(("worker_rows_per_s", "plain_loop_rows_per_s",
                              "mariadb_binlog_rows_per_s"), 0.0)
        for round_no in range(1, args.rounds + 1):
            run = worker(info, span, label, per_statement)
            peak = max(peak, run.peak_rss_mb)
            rates = {"worker_rows_per_s": run.rows_per_s,
                     "plain_loop_rows_per_s": plain_loop(info.mariadb_port, span),
                     "mariadb_binlog_rows_per_s": mariadb_binlog(Path(args.stack_dir), span)}
            if not args.skip_debezium:
                rates["debezium_rows_per_s"] = debezium_rate.measure(
                    info.mariadb_port, span, _replica_id()).rows_per_s
            print(f"{label} round {round_no}: " + ", ".join(
                f"{key.removesuffix('_rows_per_s')} {rate:,.0f} rows/s"
                for key, rate in rates.items())
                + f" (worker CPU per row: reader {run.reader_cpu_us_per_row:.1f} us, "
                f"publisher {run.publisher_cpu_us_per_row:.1f} us)", flush=True)
            best = {key: max(best.get(key, 0.0), rate) for key, rate in rates.items()}
        results[label] = {key: round(rate) for key, rate in best.items()}
        _execute(info.mariadb_port, f"DROP TABLE app.{span.table}")
    results["worker_peak_rss_mb"] = round(peak, 1)
    print(f"{'workload':<12} {'worker':>12} {'plain loop':>12} {'mariadb-binlog':>15} "
          f"{'worker/plain':>13}")
    for label in ("single_row", "batch_1000"):
        r = results[label]
        print(f"{label:<12} {r['worker_rows_per_s']:>12,} {r['plain_loop_rows_per_s']:>12,} "
              f"{r['mariadb_binlog_rows_per_s']:>15,} "
              f"{r['worker_rows_per_s'] / r['plain_loop_rows_per_s']:>13.2f}")
    if not args.skip_debezium:
        for label in ("single_row", "batch_1000"):
            r = results[label]
            print(f"{label}: worker/debezium "
                  f"{r['worker_rows_per_s'] / r['debezium_rows_per_s']:.2f}")
    print(f"worker peak RSS: {results['worker_peak_rss_mb']} MB")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
