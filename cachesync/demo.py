"""``cachesync demo``: the whole pipeline on the local stack, checked at the end.

It starts the local stack, applies the engine's migrations, creates a small application
schema (users, profiles, balances), starts the CDC worker and one consumer per region as
child processes, and runs a workload of small transactions from several writer threads
(inserts, updates, deletes, partition-key moves). When the workload stops it waits for the
pipeline to drain, then checks every row against every region with a dry-run reconcile:
the demo exits non-zero if any inconsistency remains. Everything it started is stopped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import click
import pymysql
import redis

from cachesync import db
from cachesync.stack import Stack, StackInfo
from schemas.config import Settings, load_settings

log = logging.getLogger(__name__)

REPO: Final = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG: Final = REPO / "config" / "example.toml"

APP_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS app.users (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL,"
    " email VARCHAR(128) NOT NULL, region VARCHAR(16) NOT NULL,"
    " updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"
    " ON UPDATE CURRENT_TIMESTAMP(6))",
    "CREATE TABLE IF NOT EXISTS app.profiles (user_id BIGINT PRIMARY KEY, bio TEXT,"
    " avatar VARBINARY(64))",
    "CREATE TABLE IF NOT EXISTS app.balances (user_id BIGINT NOT NULL, currency CHAR(3) NOT NULL,"
    " amount DECIMAL(18,2) NOT NULL, version BIGINT UNSIGNED NOT NULL,"
    " PRIMARY KEY (user_id, currency))",
)
CURRENCIES: Final = ("EUR", "USD", "JPY")


@dataclass
class WorkloadStats:
    """What the writer threads did (counts by operation), shared under a lock."""

    ops: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, op: str, n: int = 1) -> None:
        with self.lock:
            self.ops[op] += n


def _connect(info: StackInfo) -> pymysql.Connection[pymysql.cursors.Cursor]:
    return pymysql.connect(
        host="127.0.0.1", port=info.mariadb_port, user="root", password="cachesync-root",
        autocommit=False,
    )


def prepare(info: StackInfo) -> None:
    """Fresh, empty demo tables in the ``app`` schema, and empty region caches to match."""
    for url in info.redis_urls.values():
        client = redis.Redis.from_url(url)
        try:
            client.flushdb()
        finally:
            client.close()
    conn = _connect(info)
    try:
        with conn.cursor() as cur:
            for table in ("balances", "profiles", "users"):
                cur.execute(f"DROP TABLE IF EXISTS app.{table}")
            for ddl in APP_SCHEMA:
                cur.execute(ddl)
        conn.commit()
    finally:
        conn.close()


def _writer(info: StackInfo, *, seed: int, users: int, rate_per_s: float, stop: threading.Event,
            stats: WorkloadStats) -> None:
    """One application writer: small transactions at about ``rate_per_s``."""
    rng = random.Random(seed)
    conn = _connect(info)
    interval = 1.0 / rate_per_s
    next_at = time.monotonic()
    try:
        with conn.cursor() as cur:
            while not stop.is_set():
                uid = rng.randrange(users)
                roll = rng.random()
                if roll < 0.45:
                    cur.execute(
                        "INSERT INTO app.users (id, name, email, region) VALUES (%s, %s, %s, %s)"
                        " ON DUPLICATE KEY UPDATE name = VALUES(name), email = VALUES(email)",
                        (uid, f"user-{uid}-{rng.randrange(10**6)}", f"u{uid}@example.com",
                         rng.choice(("east", "west"))),
                    )
                    stats.add("upsert user")
                elif roll < 0.75:
                    currency = rng.choice(CURRENCIES)
                    cur.execute(
                        "INSERT INTO app.balances (user_id, currency, amount, version)"
                        " VALUES (%s, %s, %s, 1) ON DUPLICATE KEY UPDATE"
                        " amount = amount + VALUES(amount), version = version + 1",
                        (uid, currency, f"{rng.randrange(-5000, 10000) / 100:.2f}"),
                    )
                    stats.add("balance change")
                elif roll < 0.9:
                    cur.execute(
                        "INSERT INTO app.profiles (user_id, bio, avatar) VALUES (%s, %s, %s)"
                        " ON DUPLICATE KEY UPDATE bio = VALUES(bio)",
                        (uid, f"bio {rng.randrange(10**6)}", rng.randbytes(8)),
                    )
                    stats.add("upsert profile")
                elif roll < 0.95:
                    target = rng.randrange(users, users * 2)
                    cur.execute(
                        "UPDATE IGNORE app.profiles SET user_id = %s WHERE user_id = %s",
                        (target, uid),
                    )
                    stats.add("move profile (key change)")
                else:
                    cur.execute("DELETE FROM app.users WHERE id = %s", (uid,))
                    stats.add("delete user")
                conn.commit()
                next_at += interval
                delay = next_at - time.monotonic()
                if delay > 0:
                    stop.wait(delay)
                else:
                    next_at = time.monotonic()
    finally:
        conn.close()


@contextlib.contextmanager
def _children(commands: list[tuple[str, list[str]]], log_dir: Path) -> Iterator[None]:
    """Run the pipeline's workers as child processes; SIGTERM (then SIGKILL) them on exit."""
    procs: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        for name, argv in commands:
            with (log_dir / f"{name}.log").open("ab") as out:
                procs.append((name, subprocess.Popen(argv, stdout=out, stderr=out,
                                                     env=os.environ | run_env())))
            log.info("started %s (pid %d), log %s", name, procs[-1][1].pid,
                     log_dir / f"{name}.log")
        yield
        for name, proc in procs:
            if proc.poll() is not None:
                raise click.ClickException(
                    f"{name} exited early with status {proc.returncode}; see "
                    f"{log_dir / f'{name}.log'}"
                )
    finally:
        for _, proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop on SIGTERM; killing it", name)
                proc.kill()
                proc.wait()


_RUN_ID: Final = time.strftime("%Y%m%d%H%M%S")


def run_env() -> dict[str, str]:
    """Overrides that give each demo run its own topics and CDC checkpoint, so nothing a
    previous run (or a hand-made change) left in Kafka lands in this run's fresh caches."""
    return {
        "CACHESYNC_KAFKA__TOPIC": f"cachesync.demo.{_RUN_ID}",
        "CACHESYNC_KAFKA__DLQ_TOPIC": f"cachesync.demo.{_RUN_ID}.dlq",
        "CACHESYNC_SOURCE__NAME": f"demo-{_RUN_ID}",
    }


def wait_for_cdc_start(info: StackInfo, source_name: str, timeout_s: float = 60) -> None:
    """A first CDC run starts at the binlog's end: the workload waits until it has."""
    conn = _connect(info)
    deadline = time.monotonic() + timeout_s
    try:
        with conn.cursor() as cur:
            while True:
                cur.execute("SELECT COUNT(*) FROM cachesync.positions WHERE source_name = %s",
                            (source_name,))
                row = cur.fetchone()
                conn.commit()
                if row and row[0]:
                    return
                if time.monotonic() > deadline:
                    raise click.ClickException("the CDC worker did not start; see its log")
                time.sleep(0.2)
    finally:
        conn.close()


def check_consistency(config: Path, timeout_s: float) -> dict[str, Any]:
    """Dry-run reconciles until no drift is left or the timeout passes; the last report."""
    deadline = time.monotonic() + timeout_s
    cachesync = str(Path(sys.executable).with_name("cachesync"))
    while True:
        result = subprocess.run(
            [cachesync, "reconcile", "--config", str(config), "--dry-run", "--restart"],
            capture_output=True, check=False, env=os.environ | run_env(),
        )
        if result.returncode == 2:
            raise click.ClickException(
                "the consistency check failed: " + result.stderr.decode(errors="replace")[-2000:]
            )
        report: dict[str, Any] = json.loads(result.stdout)
        if result.returncode == 0 or time.monotonic() > deadline:
            return report
        time.sleep(2)


@click.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=DEFAULT_CONFIG, show_default=True)
@click.option("--duration", "duration_s", type=click.FloatRange(min=1), default=60,
              show_default=True, help="Seconds of workload.")
@click.option("--rate", "rate_per_s", type=click.FloatRange(min=1), default=500,
              show_default=True, help="Transactions per second, all writers together.")
@click.option("--writers", type=click.IntRange(1, 64), default=4, show_default=True)
@click.option("--users", type=click.IntRange(10), default=5000, show_default=True)
@click.option("--keep-stack", is_flag=True, help="Leave the local stack running afterwards.")
def demo(*, config_path: Path, duration_s: float, rate_per_s: float, writers: int, users: int,
         keep_stack: bool) -> None:
    """Run the whole pipeline on the local stack and check every region at the end."""
    settings = load_settings(config_path, environ=os.environ | run_env())
    stack = Stack(Path(os.environ.get("CACHESYNC_STACK_DIR", ".cachesync/stack")),
                  int(os.environ.get("CACHESYNC_STACK_BASE_PORT", "13300")))
    stack.up()
    try:
        _run(stack.info(), settings=settings, config_path=config_path, duration_s=duration_s,
             rate_per_s=rate_per_s, writers=writers, users=users)
    finally:
        if not keep_stack:
            stack.down()


def _run(info: StackInfo, *, settings: Settings, config_path: Path, duration_s: float,
         rate_per_s: float, writers: int, users: int) -> None:
    db.upgrade(settings)
    prepare(info)
    log_dir = info.data_dir / "demo-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    cachesync = str(Path(sys.executable).with_name("cachesync"))
    commands = [("cdc", [cachesync, "cdc", "run", "--config", str(config_path)])]
    commands += [
        (f"consumer-{region}",
         [cachesync, "consume", "--config", str(config_path), "--region", region])
        for region in settings.regions
    ]
    stats = WorkloadStats()
    stop = threading.Event()
    with _children(commands, log_dir):
        wait_for_cdc_start(info, settings.source.name)
        threads = [
            threading.Thread(
                target=_writer,
                kwargs={"info": info, "seed": seed, "users": users,
                        "rate_per_s": rate_per_s / writers, "stop": stop, "stats": stats},
                daemon=True,
            )
            for seed in range(writers)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        while time.monotonic() - started < duration_s:
            time.sleep(min(5.0, duration_s))
            elapsed = time.monotonic() - started
            total = sum(stats.ops.values())
            click.echo(f"[{elapsed:5.0f}s] {total} transactions ({total / elapsed:.0f}/s)",
                       err=True)
        stop.set()
        for thread in threads:
            thread.join()
        click.echo("workload done; waiting for every region to catch up", err=True)
        report = check_consistency(config_path, timeout_s=60)
    _summary(stats, report, duration_s)


def _summary(stats: WorkloadStats, report: dict[str, Any], duration_s: float) -> None:
    total = sum(stats.ops.values())
    click.echo(f"\nworkload: {total} transactions in {duration_s:.0f} s")
    for op, count in sorted(stats.ops.items()):
        click.echo(f"  {op:28s} {count}")
    drift = report["drift"]
    click.echo(
        f"consistency check: {report['rows_scanned']} rows compared with every region "
        "(dry-run reconcile); drift by class:"
    )
    click.echo(json.dumps(report["totals"], indent=2))
    if drift:
        raise click.ClickException(f"inconsistencies remain after draining: {drift}")
    click.echo("result: every region is consistent with the database")
