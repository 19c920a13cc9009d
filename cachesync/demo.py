"""``cachesync demo``: the whole pipeline on the local stack, watched live, checked at the end.

It starts the local stack (unless it already runs), applies the engine's migrations, creates
a small application schema (users, profiles, balances), and starts the CDC worker and one
consumer per region as child processes, each serving its Prometheus metrics on a port of
its own. Writer threads run small transactions (inserts, updates, deletes, partition-key
moves) and cache-aside readers read through each region's Redis, filling misses under a
lease. Once a second the demo scrapes every worker; it shows the figures live (a rich table
on a terminal, a plain line every 5 s otherwise). When the workload stops it waits for the
pipeline to drain, then checks every row against every region with a dry-run reconcile.

At the end it prints a summary, writes it as JSON and a plot (PNG) of throughput, latency
and lag over time next to the workers' logs, and exits non-zero if any inconsistency
remains. Everything it started (workers, and the stack unless ``--keep-stack`` or it was
already running) is stopped on every way out: normal end, error, SIGINT and SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Final, Literal, TextIO

import click
from rich.console import Console
from rich.live import Live

from cachesync import db
from cachesync.demo_stats import Families, Point, drained, peak_lags, point, rates, stalled
from cachesync.demo_view import live_line, live_table, plot, run_totals, summary_lines
from cachesync.kafka import ensure_topic, own_topics, tidy_own_topics
from cachesync.promquantile import scrape
from cachesync.stack import Stack, StackInfo
from cachesync.stack.layout import DEFAULT_BASE_PORT, DEFAULT_DATA_DIR
from cachesync.stack.probes import free_port
from cachesync.workload import CacheAsideReader, WorkloadStats, Writer, connect, prepare
from schemas.config import Settings, load_settings

log = logging.getLogger(__name__)

REPO: Final = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG: Final = REPO / "config" / "example.toml"
SAMPLE_INTERVAL_S: Final = 1.0
TICK_S: Final = 0.5
"""The live table is redrawn this often."""
PLAIN_LINE_INTERVAL_S: Final = 5.0
LIVE_WINDOW_S: Final = 5.0
"""Rates and quantiles on screen cover this many seconds."""
KEPT_UP_LAG_S: Final = 5.0
"""A binlog lag above this during the workload: the machine could not keep up with it."""
WARM_UP_TIMEOUT_S: Final = 120.0
STALL_TIMEOUT_S: Final = 30.0
"""Draining ends when every worker has caught up, or when nothing moved for this long."""
DRAIN_SETTLE_S: Final = 2.0
CHECK_TIMEOUT_S: Final = 30.0
CHILD_STOP_TIMEOUT_S: Final = 30.0
"""The inspector finishes its scheduled checks (at most its longest window) before it exits."""
INSPECT_SAMPLE_RATE: Final = 0.2
INSPECT_WINDOWS_S: Final = (1, 10)

_RUN_ID: Final = f"{time.strftime('%Y%m%d%H%M%S')}-{os.getpid()}"


class Stopped(Exception):
    """SIGINT or SIGTERM asked the demo to stop."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _Signals:
    """SIGINT and SIGTERM raise :class:`Stopped` in the main thread, once: a second signal
    cannot interrupt the cleanup. Inside :meth:`deferred` (starting a child process, whose
    pid must be recorded before anything can interrupt) the signal waits for the block's end.
    """

    def __init__(self) -> None:
        self._depth = 0
        self._pending: int | None = None
        self._fired = False

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self._fired:
            log.warning("%s: already stopping everything the demo started",
                        signal.Signals(signum).name)
            return
        self._fired = True
        if self._depth:
            self._pending = signum
            return
        raise Stopped(signum)

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        previous = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)
                    if signal.getsignal(s) is not signal.SIG_IGN}  # as under nohup or `&`
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if not self._depth and self._pending is not None:
                signum, self._pending = self._pending, None
                raise Stopped(signum)


@dataclass
class Child:
    """One worker process of the pipeline."""

    name: str
    argv: list[str]
    metrics_port: int
    log_file: Path
    proc: subprocess.Popen[bytes] | None = None
    finishing: bool = False
    """Asked to stop: it finishes its work and exits in its own time (see :meth:`finish`)."""


class Children:
    """The pipeline's workers as child processes, each in its own session (a Ctrl-C on the
    terminal reaches only the demo, which stops them in order) and with its own metrics port.
    """

    def __init__(self, log_dir: Path, env: dict[str, str], signals: _Signals) -> None:
        self._log_dir = log_dir
        self._env = env
        self._signals = signals
        self.started: dict[str, Child] = {}

    def start(self, name: str, argv: list[str]) -> Child:
        child = Child(name, argv, free_port(), self._log_dir / f"{name}.log")
        env = os.environ | self._env | {"CACHESYNC_METRICS__PORT": str(child.metrics_port)}
        with self._signals.deferred(), child.log_file.open("ab") as out:
            child.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                          stderr=out, env=env, start_new_session=True)
            self.started[name] = child
        log.info("started %s (pid %d, metrics on port %d), log %s", name, child.proc.pid,
                 child.metrics_port, child.log_file)
        return child

    def check(self) -> None:
        """Raise if a worker has exited: the pipeline would be incomplete."""
        for child in self.started.values():
            if child.proc is not None and child.proc.poll() is not None \
                    and not child.finishing:
                raise click.ClickException(
                    f"{child.name} exited early with status {child.proc.returncode}; see "
                    f"{child.log_file}")

    def finish(self, name: str) -> None:
        """SIGTERM one worker without waiting: the inspector then runs its scheduled checks
        (a second signal would abandon them) while the demo goes on."""
        child = self.started[name]
        if child.proc is not None and child.proc.poll() is None:
            child.proc.send_signal(signal.SIGTERM)
        child.finishing = True

    def stop(self) -> None:
        """SIGTERM every worker (once), wait, then SIGKILL what remains of each one's
        process group (a worker's own children included)."""
        for child in self.started.values():
            if child.proc is not None and child.proc.poll() is None and not child.finishing:
                child.proc.send_signal(signal.SIGTERM)
        for child in self.started.values():
            if child.proc is None:
                continue
            try:
                child.proc.wait(timeout=CHILD_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop on SIGTERM within %.0f s; killing it",
                            child.name, CHILD_STOP_TIMEOUT_S)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.proc.pid, signal.SIGKILL)
            child.proc.wait()
            _wait_group_gone(child.proc.pid)


def _wait_group_gone(pgid: int, timeout_s: float = 10.0) -> None:
    """Until no process of the group is left: a killed grandchild takes a moment to exit and
    be reaped by init, and the demo must not exit before."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    log.warning("process group %d still has processes after %.0f s", pgid, timeout_s)


def run_env(info: StackInfo, settings: Settings) -> dict[str, str]:
    """Environment overrides for every process of the run: the config points at the stack
    the demo started (whatever its ports), and the run has its own topics and CDC
    checkpoint, so nothing a previous run left in Kafka lands in this run's fresh caches."""
    missing = sorted(set(settings.regions) - set(info.redis_urls))
    if missing:
        raise click.ClickException(
            f"the config's region(s) {', '.join(missing)} are not in the local stack, which "
            f"has {', '.join(sorted(info.redis_urls))}")
    env = {
        "CACHESYNC_SOURCE__DSN": info.repl_dsn,
        "CACHESYNC_KAFKA__BOOTSTRAP_SERVERS": f"[{info.kafka_bootstrap}]",
        "CACHESYNC_KAFKA__TOPIC": f"cachesync.demo.{_RUN_ID}",
        "CACHESYNC_KAFKA__DLQ_TOPIC": f"cachesync.demo.{_RUN_ID}.dlq",
        "CACHESYNC_SOURCE__NAME": f"demo-{_RUN_ID}",
    }
    env |= {f"CACHESYNC_REGIONS__{region.upper()}__REDIS_URL": info.redis_urls[region]
            for region in settings.regions}
    return env


def wait_for_cdc_start(info: StackInfo, source_name: str, children: Children | None = None,
                       timeout_s: float = 60) -> None:
    """A first CDC run starts at the binlog's end: the workload waits until it has (and
    fails at once if one of ``children`` exits meanwhile)."""
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
                if children is not None:
                    children.check()
                if time.monotonic() > deadline:
                    raise click.ClickException("the CDC worker did not start; see its log")
                time.sleep(0.2)
    finally:
        conn.close()


async def _create_topics(settings: Settings) -> None:
    for topic in own_topics(settings.kafka):
        await ensure_topic(settings.kafka, topic)


Outcome = Literal["consistent", "inconsistent", "stopped", "failed"]
"""How a run ended: checked and consistent, checked with inconsistencies left, stopped by
SIGINT/SIGTERM, or a step failed."""


def keeps_topics(outcome: Outcome, *, asked: bool) -> bool:
    """Whether the run's topics outlive it: when asked (``--keep-topics``), and when there is
    something to look into (inconsistencies, a failed step). Otherwise they are deleted, so
    that demo after demo does not fill the stack's disk."""
    return asked or outcome in ("inconsistent", "failed")


def _warm_up(info: StackInfo, watch: _Watch, *, user_id: int) -> None:
    """Write one row (a user the workload never touches) and wait until every region has
    applied it: the workload starts on a pipeline that streams, so the start-up of the
    workers (slow on a busy machine) is not counted as commit→applied latency."""
    conn = connect(info)
    try:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO app.users (id, name, email, region) VALUES (%s, %s, %s,"
                        " 'east') ON DUPLICATE KEY UPDATE name = VALUES(name)",
                        (user_id, "warm-up", f"u{user_id}@example.com"))
        conn.commit()
    finally:
        conn.close()

    def streaming(series: list[Point]) -> bool:
        last = series[-1]
        return bool(last.cdc_events) and all(region.events for region in last.regions.values())

    if not watch.until(streaming, phase="starting", timeout_s=WARM_UP_TIMEOUT_S):
        raise click.ClickException(
            f"the pipeline did not deliver a first change to every region within "
            f"{WARM_UP_TIMEOUT_S:.0f} s; see the workers' logs")


def _wait_for_inspector(report: Path, partitions: int, children: Children,
                        timeout_s: float = 60) -> None:
    """Until the inspector reads every partition from a fixed offset (its report says so),
    so it sees the workload from its first event."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = _read_json(report)
        if found is not None and found.get("partitions_assigned", 0) >= partitions:
            return
        children.check()
        time.sleep(0.5)
    log.warning("the inspector was not reading every partition after %.0f s; its figures "
                "may miss the first events", timeout_s)


def check_consistency(config: Path, env: dict[str, str], timeout_s: float) -> dict[str, Any]:
    """Dry-run reconciles until no drift is left or the timeout passes; the last report."""
    deadline = time.monotonic() + timeout_s
    cachesync = str(Path(sys.executable).with_name("cachesync"))
    while True:
        result = subprocess.run(
            [cachesync, "reconcile", "--config", str(config), "--dry-run", "--restart"],
            capture_output=True, check=False, env=os.environ | env,
        )
        if result.returncode == 2:
            raise click.ClickException(
                "the consistency check failed: " + result.stderr.decode(errors="replace")[-2000:]
            )
        report: dict[str, Any] = json.loads(result.stdout)
        if result.returncode == 0 or time.monotonic() > deadline:
            return report
        log.info("the consistency check found %d inconsistencies; checking again",
                 report["drift"])
        time.sleep(2)


class _Display:
    """The live figures: a rich table redrawn in place on a terminal, else a plain line
    every few seconds."""

    def __init__(self, duration_s: float, *, tty: bool) -> None:
        self._duration_s = duration_s
        self._live = Live(console=Console(), auto_refresh=False) if tty else None
        self._last_line = time.monotonic()  # the first line once a window is full
        self._handlers: list[logging.StreamHandler[TextIO]] = []

    def __enter__(self) -> _Display:
        if self._live is not None:
            # Log lines written behind the live table's back would tear it: the handlers
            # on stderr write through rich's proxy (above the table) while it is shown.
            self._handlers = [handler for handler in logging.getLogger().handlers
                              if isinstance(handler, logging.StreamHandler)
                              and handler.stream is sys.stderr]
            self._live.start()
            for handler in self._handlers:
                handler.setStream(sys.stderr)
        return self

    def __exit__(self, *_: object) -> None:
        if self._live is not None:
            self._live.stop()
            for handler in self._handlers:
                handler.setStream(sys.stderr)

    def show(self, series: list[Point], *, phase: str) -> None:
        if len(series) < 2:
            return
        figures = rates(series, LIVE_WINDOW_S)
        if self._live is not None:
            self._live.update(live_table(figures, phase=phase, elapsed_s=figures.t_s,
                                         duration_s=self._duration_s), refresh=True)
        elif time.monotonic() - self._last_line >= PLAIN_LINE_INTERVAL_S:
            click.echo(live_line(figures, phase=phase, elapsed_s=figures.t_s))
            self._last_line = time.monotonic()


class _Watch:
    """Samples every worker once a second into the series and keeps the display current."""

    def __init__(self, children: Children, regions: list[str], stats: WorkloadStats,
                 display: _Display) -> None:
        self._children = children
        self._regions = regions
        self._stats = stats
        self._display = display
        self.series: list[Point] = []
        self.started = self._next_sample = 0.0
        self.restart()

    def restart(self) -> None:
        """Start a new series: its time 0 is now."""
        self.series = []
        self.started = time.monotonic()
        self._next_sample = self.started

    def _port(self, name: str) -> int | None:
        child = self._children.started.get(name)
        return child.metrics_port if child is not None else None

    def _scrape(self, name: str) -> Families | None:
        """The worker's metrics; None if it does not answer (yet)."""
        port = self._port(name)
        if port is None:
            return None
        try:
            return scrape(f"http://127.0.0.1:{port}/metrics", timeout_s=1)
        except OSError:  # URLError is one
            return None

    def sample(self) -> None:
        _, rows, reads = self._stats.snapshot()
        self.series.append(point(
            time.monotonic() - self.started, rows_written=rows, reads=sum(reads.values()),
            cdc=self._scrape("cdc"),
            consumers={region: self._scrape(f"consumer-{region}") for region in self._regions},
            inspector=self._scrape("inspector"),
        ))

    def until(self, done: Callable[[list[Point]], bool], *, phase: str,
              timeout_s: float) -> bool:
        """Sample and display until ``done(series)`` or the timeout; whether it was done."""
        deadline = time.monotonic() + timeout_s
        while True:
            if time.monotonic() >= self._next_sample:
                self.sample()
                self._next_sample += SAMPLE_INTERVAL_S
                if done(self.series):
                    return True
            self._children.check()
            self._display.show(self.series, phase=phase)
            if time.monotonic() >= deadline:
                return False
            time.sleep(max(0.0, min(TICK_S, self._next_sample - time.monotonic())))


@dataclass(frozen=True)
class WorkloadOptions:
    """The workload of one run and what to keep of it (see the options of ``cachesync
    demo``)."""

    duration_s: float
    rate_per_s: float
    max_rows: int
    writers: int
    read_rate_per_s: float
    users: int
    inspect_sample_rate: float
    keep_topics: bool


@click.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=DEFAULT_CONFIG, show_default=True,
              help="Tables and regions; its endpoints are pointed at the local stack.")
@click.option("--duration", "duration_s", type=click.FloatRange(min=1), default=60,
              show_default=True, help="Seconds of workload.")
@click.option("--rate", "rate_per_s", type=click.FloatRange(min=1), default=300,
              show_default=True, help="Transactions per second, all writers together "
              "(the defaults make about 1,200 row changes per second; 1100: 4,500).")
@click.option("--max-rows", type=click.IntRange(1, 100), default=8, show_default=True,
              help="Row changes per transaction: 1 to this many.")
@click.option("--writers", type=click.IntRange(1, 64), default=8, show_default=True)
@click.option("--read-rate", "read_rate_per_s", type=click.FloatRange(min=0), default=200,
              show_default=True,
              help="Cache-aside reads per second in each region (0: no readers).")
@click.option("--users", type=click.IntRange(10), default=5000, show_default=True)
@click.option("--inspect-sample-rate", type=click.FloatRange(0, 1, min_open=True),
              default=INSPECT_SAMPLE_RATE, show_default=True,
              help="Share of change events the inspector checks in every region.")
@click.option("--stack-dir", type=click.Path(file_okay=False, path_type=Path),
              default=DEFAULT_DATA_DIR, show_default=True, envvar="CACHESYNC_STACK_DIR",
              show_envvar=True, help="The local stack's data dir; the run's logs go under it.")
@click.option("--base-port", type=click.IntRange(1024, 65000), default=DEFAULT_BASE_PORT,
              show_default=True, envvar="CACHESYNC_STACK_BASE_PORT", show_envvar=True,
              help="The local stack's base port.")
@click.option("--keep-topics", is_flag=True,
              help="Keep the run's Kafka topics afterwards (they are kept anyway when "
                   "inconsistencies remain or a step failed, and deleted otherwise).")
@click.option("--keep-stack", is_flag=True,
              help="Leave the local stack running afterwards (it is always left running "
                   "if it was running before).")
def demo(*, config_path: Path, stack_dir: Path, base_port: int, keep_stack: bool,
         **workload: Any) -> None:
    """Run the whole pipeline on the local stack, live, and check every region at the end.

    Exit code: 0 every region consistent, 1 inconsistencies remain or a step failed,
    130/143 stopped by SIGINT/SIGTERM (after stopping everything it started).
    """
    signals = _Signals()
    stack = Stack(stack_dir, base_port)
    with one_demo_per_stack(stack_dir), signals.installed():
        try:
            running_before: set[str] = set()
            try:
                running_before = {name for name in stack.SERVICES
                                  if stack.pid(name) is not None}
                info = stack.up()
                _run(info, config_path=config_path, signals=signals,
                     options=WorkloadOptions(**workload))
            finally:
                with signals.deferred():
                    _stop_stack(stack, running_before, keep=keep_stack)
        except Stopped as stop:
            log.warning("stopped by %s; everything the demo started is stopped", stop)
            raise click.exceptions.Exit(128 + stop.signum) from None


@contextlib.contextmanager
def one_demo_per_stack(stack_dir: Path) -> Iterator[None]:
    """Hold the stack's demo lock for the run, or refuse to start.

    A demo starts by dropping the demo tables and emptying the caches: a second demo on
    the same stack would do that under the first one's consumers, which would then write
    the first run's rows over the second's (same versions, other values).
    """
    stack_dir.mkdir(parents=True, exist_ok=True)
    with (stack_dir / "demo.lock").open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise click.ClickException(
                f"another demo is running on the stack in {stack_dir} (pid {holder}); wait "
                "for it to end, or give this one its own --stack-dir and --base-port"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield


def _stop_stack(stack: Stack, running_before: set[str], *, keep: bool) -> None:
    if keep:
        return
    ours = [name for name in reversed(stack.SERVICES) if name not in running_before]
    for name in ours:
        stack.stop_service(name)
    if running_before:
        log.info("left running what was running before the demo: %s",
                 ", ".join(sorted(running_before)))


def _run(info: StackInfo, *, config_path: Path, signals: _Signals,
         options: WorkloadOptions) -> None:
    settings = load_settings(config_path)
    env = run_env(info, settings)
    settings = load_settings(config_path, environ=os.environ | env)
    db.upgrade(settings)
    prepare(info)
    log_dir = info.data_dir / "demo-logs" / _RUN_ID
    log_dir.mkdir(parents=True, exist_ok=True)
    cachesync = str(Path(sys.executable).with_name("cachesync"))
    config = str(config_path)
    regions = list(settings.regions)
    stats = WorkloadStats()
    stop = threading.Event()
    threads: list[threading.Thread] = []
    children = Children(log_dir, env, signals)
    inspector_report = log_dir / "inspector.json"
    outcome: Outcome = "failed"  # until the run reaches its verdict
    try:
        # The run's topics exist before any worker subscribes: a consumer subscribing to a
        # topic that is not in the broker's metadata yet gets no partitions until its next
        # metadata refresh (cachesync.kafka.GROUP_METADATA_MAX_AGE_MS).
        asyncio.run(_create_topics(settings))
        children.start("cdc", [cachesync, "cdc", "run", "--config", config])
        for region in regions:
            children.start(f"consumer-{region}",
                           [cachesync, "consume", "--config", config, "--region", region])
        wait_for_cdc_start(info, settings.source.name, children)
        runners: list[Writer | CacheAsideReader] = [
            Writer(info, seed=seed, users=options.users,
                   rate_per_s=options.rate_per_s / options.writers, max_rows=options.max_rows,
                   stats=stats, stop=stop)
            for seed in range(options.writers)
        ]
        if options.read_rate_per_s > 0:
            runners += [
                CacheAsideReader(settings, region=region, seed=1000 + i, users=options.users,
                                 rate_per_s=options.read_rate_per_s, stats=stats, stop=stop)
                for i, region in enumerate(regions)
            ]
        threads = [threading.Thread(target=runner.run, name=type(runner).__name__,
                                    daemon=True) for runner in runners]
        with _Display(options.duration_s, tty=sys.stdout.isatty()) as display:
            watch = _Watch(children, regions, stats, display)
            _warm_up(info, watch, user_id=options.users)
            # Started once the topic exists, so it has its partitions from the start.
            children.start("inspector", [
                cachesync, "inspect", "--config", config,
                "--sample-rate", str(options.inspect_sample_rate),
                *(arg for window in INSPECT_WINDOWS_S for arg in ("--window", str(window))),
                "--report", str(inspector_report),
                "--group-id", f"cachesync.inspector.{_RUN_ID}",
            ])
            _wait_for_inspector(inspector_report, settings.kafka.partitions, children)
            watch.restart()
            for thread in threads:
                thread.start()
            watch.until(lambda series: series[-1].t_s >= options.duration_s, phase="workload",
                        timeout_s=math.inf)
            stop.set()
            for thread in threads:
                thread.join()
            workload_s = watch.series[-1].t_s
            watch.until(lambda series: drained(series, DRAIN_SETTLE_S)
                        or stalled(series, STALL_TIMEOUT_S), phase="draining",
                        timeout_s=math.inf)
            if not drained(watch.series, DRAIN_SETTLE_S):
                log.warning("the pipeline stopped moving for %.0f s before it drained; "
                            "checking anyway", STALL_TIMEOUT_S)
        children.finish("inspector")  # its last checks overlap the consistency check
        click.echo("checking every row against every region (dry-run reconcile)", err=True)
        report = check_consistency(config_path, env, timeout_s=CHECK_TIMEOUT_S)
        outcome = "inconsistent" if report["drift"] else "consistent"
    except Stopped:
        outcome = "stopped"
        raise
    finally:
        with signals.deferred():
            stop.set()
            for thread in threads:
                if thread.ident is not None:  # started
                    thread.join(timeout=10)
            children.stop()
            tidy_own_topics(settings.kafka,
                            keep=keeps_topics(outcome, asked=options.keep_topics))
    plot_file = log_dir / "demo.png"
    plot(watch.series, plot_file, workload_end_s=workload_s)
    summary = _summary(stats, watch.series, report, workload_s=workload_s, log_dir=log_dir,
                       plot_file=plot_file, children=children,
                       inspector=_read_json(inspector_report),
                       sample_rate=options.inspect_sample_rate)
    for line in summary_lines(summary):
        click.echo(line)
    if report["drift"]:
        raise click.ClickException(
            f"{report['drift']} inconsistencies remain after the pipeline drained")
    click.echo("result: every region is consistent with the database")


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    return found


def _summary(stats: WorkloadStats, series: list[Point], report: dict[str, Any], *,
             workload_s: float, log_dir: Path, plot_file: Path, children: Children,
             inspector: dict[str, Any] | None, sample_rate: float) -> dict[str, Any]:
    """The run in one JSON document, also written to ``summary.json`` in the log dir."""
    transactions, rows, reads = stats.snapshot()
    max_binlog_lag, max_lag = peak_lags(series, until_s=workload_s)
    with stats.lock:
        ops = dict(stats.ops)
    summary: dict[str, Any] = {
        "run_id": _RUN_ID,
        "workload": {"transactions": transactions, "rows": rows, "seconds": workload_s,
                     "rows_per_s": rows / workload_s if workload_s else 0.0, "ops": ops},
        "reads": reads,
        "cdc": {"events": series[-1].cdc_events, "max_binlog_lag_s": max_binlog_lag},
        "regions": {name: figures | {"max_lag_records": max_lag[name]}
                    for name, figures in run_totals(series).items()},
        "kept_up": max_binlog_lag is not None and max_binlog_lag <= KEPT_UP_LAG_S,
        "inspector": None if inspector is None else {
            "events": inspector.get("events"), "windows_s": INSPECT_WINDOWS_S,
            "sample_rate": sample_rate, "regions": inspector.get("regions", {}),
            "inconsistencies": inspector.get("inconsistencies", [])[:10],
            "report": str(log_dir / "inspector.json"),
        },
        "consistency": {key: report[key] for key in ("rows_scanned", "drift", "totals")},
        "children": {name: child.proc.pid for name, child in children.started.items()
                     if child.proc is not None},
        "log_dir": str(log_dir),
        "plot": str(plot_file),
        "summary_file": str(log_dir / "summary.json"),
    }
    (log_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
