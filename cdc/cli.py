"""``cachesync cdc run`` and ``cachesync cdc reset-position``."""

from __future__ import annotations

import asyncio
import signal

import click

from cachesync import gctune
from cachesync.kafka import TopicPartitionsMismatch
from cachesync.metrics import serve_metrics
from cachesync.settings_cli import config_option, load_or_exit
from cdc.catalog import SourceConfigError
from cdc.normalize import NormalizeError
from cdc.reader_process import ReaderDied
from cdc.worker import CdcWorker, PurgedBinlogError, reset_to_current, use_utc


@click.group()
def cdc() -> None:
    """The CDC worker: binlog → Kafka."""


@cdc.command()
@config_option
def run(*, config_path: str) -> None:
    """Stream the source's binlog to Kafka until SIGTERM (then flush and checkpoint)."""
    settings = load_or_exit(config_path)
    use_utc()
    gctune.tune()  # this process assembles every row; the reader process tunes its own
    serve_metrics(settings.metrics)
    try:
        asyncio.run(_run(CdcWorker(settings)))
    except (SourceConfigError, PurgedBinlogError, NormalizeError, ReaderDied,
            TopicPartitionsMismatch) as exc:
        raise click.ClickException(str(exc)) from None


async def _run(worker: CdcWorker) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await worker.run(stop)


@cdc.command("reset-position")
@config_option
@click.option("--to-current", is_flag=True, required=True,
              help="Move the checkpoint to the binlog's current end.")
def reset_position(*, config_path: str, to_current: bool) -> None:
    """Skip to the binlog's end: only after a full reconcile has repaired the caches."""
    settings = load_or_exit(config_path)
    position = reset_to_current(settings)
    click.echo(f"checkpoint of {settings.source.name!r} moved to {position.gtid} "
               f"({position.file}:{position.pos})")
