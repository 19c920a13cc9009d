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
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import click

from cachesync import db
from cachesync.stack import Stack, StackInfo
from cachesync.workload import CacheAsideReader, WorkloadStats, Writer, connect, prepare
from schemas.config import Settings, load_settings

log = logging.getLogger(__name__)

REPO: Final = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG: Final = REPO / "config" / "example.toml"

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
    conn = connect(info)
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
@click.option("--max-rows", type=click.IntRange(1, 100), default=1, show_default=True,
              help="Row changes per transaction: 1 to this many.")
@click.option("--writers", type=click.IntRange(1, 64), default=4, show_default=True)
@click.option("--read-rate", "read_rate_per_s", type=click.FloatRange(min=0), default=200,
              show_default=True,
              help="Cache-aside reads per second in each region (0: no readers).")
@click.option("--users", type=click.IntRange(10), default=5000, show_default=True)
@click.option("--keep-stack", is_flag=True, help="Leave the local stack running afterwards.")
def demo(*, config_path: Path, duration_s: float, rate_per_s: float, max_rows: int,
         writers: int, read_rate_per_s: float, users: int, keep_stack: bool) -> None:
    """Run the whole pipeline on the local stack and check every region at the end."""
    settings = load_settings(config_path, environ=os.environ | run_env())
    stack = Stack(Path(os.environ.get("CACHESYNC_STACK_DIR", ".cachesync/stack")),
                  int(os.environ.get("CACHESYNC_STACK_BASE_PORT", "13300")))
    stack.up()
    try:
        _run(stack.info(), settings=settings, config_path=config_path, duration_s=duration_s,
             rate_per_s=rate_per_s, max_rows=max_rows, writers=writers,
             read_rate_per_s=read_rate_per_s, users=users)
    finally:
        if not keep_stack:
            stack.down()


def _run(info: StackInfo, *, settings: Settings, config_path: Path, duration_s: float,
         rate_per_s: float, max_rows: int, writers: int, read_rate_per_s: float,
         users: int) -> None:
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
        runners: list[Writer | CacheAsideReader] = [
            Writer(info, seed=seed, users=users, rate_per_s=rate_per_s / writers,
                   max_rows=max_rows, stats=stats, stop=stop)
            for seed in range(writers)
        ]
        if read_rate_per_s > 0:
            runners += [
                CacheAsideReader(settings, region=region, seed=1000 + i, users=users,
                                 rate_per_s=read_rate_per_s, stats=stats, stop=stop)
                for i, region in enumerate(settings.regions)
            ]
        threads = [threading.Thread(target=runner.run, daemon=True) for runner in runners]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        while time.monotonic() - started < duration_s:
            time.sleep(min(5.0, duration_s))
            elapsed = time.monotonic() - started
            transactions, rows, _ = stats.snapshot()
            click.echo(f"[{elapsed:5.0f}s] {transactions} transactions ({rows / elapsed:.0f} "
                       "rows/s)", err=True)
        stop.set()
        for thread in threads:
            thread.join()
        click.echo("workload done; waiting for every region to catch up", err=True)
        report = check_consistency(config_path, timeout_s=60)
    _summary(stats, report, duration_s)


def _summary(stats: WorkloadStats, report: dict[str, Any], duration_s: float) -> None:
    transactions, rows, reads = stats.snapshot()
    click.echo(f"\nworkload: {transactions} transactions, {rows} row changes in "
               f"{duration_s:.0f} s")
    for op, count in sorted(stats.ops.items()):
        click.echo(f"  {op:28s} {count}")
    if reads:
        click.echo("cache-aside reads:")
        for outcome, count in sorted(reads.items()):
            click.echo(f"  {outcome:36s} {count}")
    drift = report["drift"]
    click.echo(
        f"consistency check: {report['rows_scanned']} rows compared with every region "
        "(dry-run reconcile); drift by class:"
    )
    click.echo(json.dumps(report["totals"], indent=2))
    if drift:
        raise click.ClickException(f"inconsistencies remain after draining: {drift}")
    click.echo("result: every region is consistent with the database")
