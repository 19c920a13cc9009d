"""``cachesync inspect``."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import click
from aiokafka.errors import KafkaError

from cachesync import gctune
from cachesync.inspector.runner import DEFAULT_GROUP, InspectOptions, Inspector
from cachesync.metrics import serve_metrics
from cachesync.settings_cli import config_option, load_or_exit

log = logging.getLogger(__name__)


@click.command()
@config_option
@click.option("--sample-rate", type=click.FloatRange(0, 1, min_open=True), default=0.1,
              show_default=True, help="Share of change events checked (chosen by a hash of "
              "the event, so the choice is repeatable).")
@click.option("--window", "windows", type=click.FloatRange(0, min_open=True), multiple=True,
              default=(1.0, 10.0), show_default=True, metavar="SECONDS",
              help="Check every region this long after receiving a sampled event; repeatable.")
@click.option("--duration", type=click.FloatRange(0, min_open=True), default=None,
              metavar="SECONDS", help="Sample for this long, finish the scheduled checks, "
              "write the report and exit (default: until SIGTERM/SIGINT).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, metavar="FILE.json",
              help="JSON report, rewritten atomically every few seconds and at the end.")
@click.option("--group-id", default=DEFAULT_GROUP, show_default=True, metavar="ID",
              help="The inspector's own consumer group on the change topic.")
def inspect(*, config_path: str, sample_rate: float, windows: tuple[float, ...],
            duration: float | None, report_path: Path | None, group_id: str) -> None:
    """Measure "N nines of writes consistent within M s" per region (Polaris-style).

    Samples live change events, re-reads every region M seconds after receiving each one,
    and re-checks the DB before counting an inconsistency. The first SIGTERM/SIGINT stops
    sampling and lets the scheduled checks finish (at most the longest window); a second
    one stops at once.
    """
    settings = load_or_exit(config_path)
    serve_metrics(settings.metrics)
    options = InspectOptions(sample_rate=sample_rate, windows_s=tuple(windows),
                             group_id=group_id, duration_s=duration, report_path=report_path)
    try:
        asyncio.run(_run(Inspector(settings, options)))
    except KafkaError as exc:
        raise click.ClickException(
            f"Kafka at {','.join(settings.kafka.bootstrap_servers)}: {exc}") from None


async def _run(inspector: Inspector) -> None:
    gctune.tune()
    stop, abandon = asyncio.Event(), asyncio.Event()

    def on_signal() -> None:
        if stop.is_set():
            abandon.set()
        else:
            log.info("stopping: finishing the scheduled checks (signal again to stop now)")
            stop.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    await inspector.run(stop, abandon)
