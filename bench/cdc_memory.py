"""Peak memory of the CDC worker while it streams one large transaction.

    .venv/bin/python -m bench.cdc_memory [--stack-dir DIR --base-port N] [--rows 1000000]
        [--sample-ms 50]

On the local stack it creates a table, starts ``cachesync cdc run --config FILE`` as a
real subprocess (checkpoint at the binlog's end), waits until the worker is idle with its
binlog reader child running, then commits ONE transaction of ``--rows`` rows
(``INSERT ... SELECT`` from MariaDB's SEQUENCE engine). Every ``--sample-ms`` it reads
``VmRSS`` of every process of the worker's tree from ``/proc`` (the ``cachesync cdc run``
parent and its binlog reader child), until the worker's checkpoint (written only once Kafka
acknowledged every row up to it) is past the transaction; then it checks that the topic
holds exactly ``--rows`` records and stops the worker with SIGTERM.

It prints the RSS of each process when idle and at its peak (the highest sample; the
kernel's ``VmHWM`` high-water mark is printed too), the peak of the tree's summed RSS
(``worker_peak_rss_mb``: the highest sum over simultaneous samples), how the checkpoint
moved inside the transaction, and the seconds from the commit until the checkpoint passed
it. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql
import yaml

from bench.proc import add_stack_options, process_tree, status_kb

REPO = Path(__file__).resolve().parents[1]
CACHESYNC = Path(sys.executable).parent / "cachesync"
MIB = 1024 * 1024


@dataclass
class Proc:
    """One process of the worker's tree, as last sampled."""

    role: str
    rss: int = 0
    peak: int = 0
    hwm: int = 0


@dataclass
class Tree:
    """The worker's process tree, sampled from /proc."""

    root: int
    procs: dict[int, Proc] = field(default_factory=dict)
    peak_sum: int = 0

    def sample(self) -> int:
        """Sample every process of the tree; the summed RSS now."""
        total = 0
        for pid in process_tree(self.root):
            status = _status(pid)
            if status is None:
                continue
            proc = self.procs.get(pid)
            if proc is None:
                proc = self.procs[pid] = Proc("other")
            if proc.role == "other":  # a child not yet exec'd shows its parent's cmdline
                proc.role = _role(pid, self.root)
            proc.rss, proc.hwm = status
            proc.peak = max(proc.peak, proc.rss)
            total += proc.rss
        self.peak_sum = max(self.peak_sum, total)
        return total

    def by_role(self, role: str) -> list[Proc]:
        return [proc for proc in self.procs.values() if proc.role == role]


def _status(pid: int) -> tuple[int, int] | None:
    """(VmRSS, VmHWM) in bytes; None once the process is gone."""
    rss, hwm = status_kb(pid, "VmRSS:"), status_kb(pid, "VmHWM:")
    if rss is None or hwm is None:  # gone, or a zombie with no memory left
        return None
    return rss * 1024, hwm * 1024


def _role(pid: int, root: int) -> str:
    if pid == root:
        return "parent"
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "other"
    return "reader" if "cdc.reader_process" in cmdline else "other"


def _connect(port: int) -> pymysql.Connection[pymysql.cursors.Cursor]:
    return pymysql.connect(host="127.0.0.1", port=port, user="root", password="cachesync-root",
                           autocommit=True)


def _seq(gtid: str) -> int:
    return int(gtid.split(",", maxsplit=1)[0].rsplit("-", 1)[1])


def _checkpoint(conn: pymysql.Connection[pymysql.cursors.Cursor], name: str
                ) -> tuple[str, int] | None:
    with conn.cursor() as cur:
        cur.execute("SELECT gtid, row_index FROM cachesync.positions WHERE source_name = %s",
                    (name,))
        row = cur.fetchone()
    return None if row is None else (str(row[0]), int(row[1]))


async def _topic_records(bootstrap: str, topic: str) -> int:
    """Records in ``topic`` (the sum of its partitions' end offsets: a fresh topic)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition  # noqa: PLC0415

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        if partitions is None:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
        return sum(ends.values())
    finally:
        await consumer.stop()


def _config(info: Any, name: str, table: str, directory: Path) -> Path:
    from cachesync import db  # noqa: PLC0415
    from cdc.worker import reset_to_current  # noqa: PLC0415
    from schemas.config import parse_settings  # noqa: PLC0415

    raw = {
        "source": {"dsn": info.repl_dsn, "name": name,
                   "server_id": 100_000 + uuid.uuid4().int % 1_000_000_000,
                   "heartbeat_interval_ms": 200},
        "engine": {"dsn": info.repl_dsn},
        "kafka": {"bootstrap_servers": [info.kafka_bootstrap], "topic": name, "partitions": 4},
        "regions": {region: {"redis_url": url} for region, url in info.redis_urls.items()},
        "tables": {f"app.{table}": {"cache_keys": [f"{table}:{{id}}"]}},
    }
    settings = parse_settings(raw)
    db.upgrade(settings)
    reset_to_current(settings)  # the worker starts here, before the transaction
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _wait_idle(conn: pymysql.Connection[pymysql.cursors.Cursor], tree: Tree,
               proc: subprocess.Popen[bytes], sample_s: float) -> None:
    """Until the reader child streams the binlog and the tree's RSS has not moved by
    1 MiB for 2 s (start-up is over)."""
    deadline = time.monotonic() + 120
    window: list[int] = []
    while len(window) < int(2 / sample_s) or max(window) - min(window) >= MIB:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the worker did not start (see its log)")
        total = tree.sample()
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                        "WHERE COMMAND LIKE 'Binlog Dump%'")
            streaming = int(cur.fetchone()[0]) > 0  # type: ignore[index]
        window = [*window, total][-int(2 / sample_s):] if streaming else []
        time.sleep(sample_s)


def run(info: Any, rows: int, sample_s: float) -> dict[str, Any]:
    from cachesync.kafka import delete_topics  # noqa: PLC0415

    name = f"bench_mem_{uuid.uuid4().hex[:8]}"
    table = name
    conn = _connect(info.mariadb_port)
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS app")
        cur.execute(f"CREATE TABLE app.{table} (id BIGINT PRIMARY KEY, user_id INT NOT NULL, "
                    "name VARCHAR(64) NOT NULL, amount DECIMAL(12,2) NOT NULL, "
                    "created DATETIME(6) NOT NULL)")
    with tempfile.TemporaryDirectory() as tmp:
        config = _config(info, name, table, Path(tmp))
        log = Path(tmp) / "worker.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([str(CACHESYNC), "cdc", "run", "--config", str(config)],
                                    stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        try:
            tree = Tree(proc.pid)
            _wait_idle(conn, tree, proc, sample_s)
            idle = {pid: p.rss for pid, p in tree.procs.items()}
            idle_sum = sum(idle.values())
            tree.peak_sum = 0
            for p in tree.procs.values():
                p.peak = 0
            print(f"worker idle: {idle_sum / MIB:.1f} MiB ("
                  + ", ".join(f"{p.role} {p.rss / MIB:.1f}" for p in tree.procs.values())
                  + ")", flush=True)
            result = _stream(info, conn, name=name, table=table, rows=rows, tree=tree,
                             proc=proc, sample_s=sample_s)
            records = asyncio.run(_topic_records(info.kafka_bootstrap, name))
        except BaseException:
            print(log.read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(60)
            asyncio.run(delete_topics(info.kafka_bootstrap, [name]))
            with conn.cursor() as cur:
                cur.execute(f"DROP TABLE app.{table}")
                cur.execute("DELETE FROM cachesync.positions WHERE source_name = %s", (name,))
            conn.close()
    if records != rows:
        raise RuntimeError(f"the topic holds {records} records, not {rows}")
    parent = tree.by_role("parent")
    reader = tree.by_role("reader")
    others = [p for p in tree.procs.values() if p.role not in {"parent", "reader"}]
    for p in tree.procs.values():
        print(f"{p.role:<17} peak {p.peak / MIB:6.1f} MiB (VmHWM {p.hwm / MIB:6.1f})")
    print(f"worker tree      peak {tree.peak_sum / MIB:6.1f} MiB (idle {idle_sum / MIB:.1f}); "
          f"{records} records in Kafka")
    return {"rows": rows,
            "worker_peak_rss_mb": round(tree.peak_sum / MIB, 1),
            "parent_peak_rss_mb": round(max(p.peak for p in parent) / MIB, 1),
            "reader_peak_rss_mb": round(max((p.peak for p in reader), default=0) / MIB, 1),
            "other_peak_rss_mb": round(sum(p.peak for p in others) / MIB, 1),
            "worker_idle_rss_mb": round(idle_sum / MIB, 1),
            "seconds": result["seconds"],
            "checkpoints_inside_txn": result["inside"]}


def _stream(info: Any, conn: pymysql.Connection[pymysql.cursors.Cursor], *, name: str,
            table: str, rows: int, tree: Tree, proc: subprocess.Popen[bytes],
            sample_s: float) -> dict[str, Any]:
    """Commit the transaction (in a thread) and sample until the checkpoint passes it."""
    import threading  # noqa: PLC0415

    done: dict[str, Any] = {}

    def write() -> None:
        try:
            writer = _connect(info.mariadb_port)
            with writer.cursor() as cur:
                cur.execute(f"INSERT INTO app.{table} SELECT seq, seq % 9973, "
                            "CONCAT('user', seq), seq / 100, '2024-01-02 03:04:05.123456' "
                            f"FROM app.seq_1_to_{rows}")
                cur.execute("SELECT @@last_gtid")
                done["gtid"] = str(cur.fetchone()[0])  # type: ignore[index]
                done["at"] = time.monotonic()
            writer.close()
        except BaseException as exc:
            done["error"] = exc
            raise

    started = time.monotonic()
    thread = threading.Thread(target=write)
    thread.start()
    inside: list[int] = []
    deadline = started + max(600, rows / 1000)
    while True:
        tree.sample()
        position = _checkpoint(conn, name)
        if position is not None and position[1] and (not inside or inside[-1] != position[1]):
            inside.append(position[1])
        if "gtid" in done and position is not None \
                and _seq(position[0]) >= _seq(done["gtid"]):
            break
        if "error" in done:
            raise RuntimeError("the transaction failed") from done["error"]
        if proc.poll() is not None:
            raise RuntimeError(f"the worker exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the worker did not publish the transaction (at {position})")
        time.sleep(sample_s)
    thread.join()
    seconds = time.monotonic() - done["at"]
    print(f"committed {rows} rows in {done['at'] - started:.1f} s; published "
          f"{seconds:.1f} s after the commit; the checkpoint moved inside the transaction "
          f"{len(inside)} times (row index up to {max(inside, default=0)})", flush=True)
    return {"seconds": round(seconds, 1), "inside": len(inside)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_stack_options(parser, "stack-cdc", 24300)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample-ms", type=float, default=50)
    args = parser.parse_args()

    from cachesync.stack import Stack  # noqa: PLC0415

    info = Stack(Path(args.stack_dir), args.base_port).up()
    print(json.dumps(run(info, args.rows, args.sample_ms / 1000)))


if __name__ == "__main__":
    main()
