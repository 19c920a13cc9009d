"""``cachesync consume``."""

from __future__ import annotations

import asyncio
import re
import signal
from typing import Final

import click

from cachesync import gctune
from cachesync.metrics import serve_metrics
from cachesync.settings_cli import config_option, load_or_exit
from consumers.worker import InstanceTakenOver, RegionConsumer

_INSTANCE_ID: Final = re.compile(r"[A-Za-z0-9._-]{1,249}")


def _instance_id(_: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and _INSTANCE_ID.fullmatch(value) is None:
        raise click.BadParameter(
            f"{value!r}: use 1 to 249 of the characters A-Z a-z 0-9 . _ -", param=param)
    return value


@click.command()
@config_option
@click.option("--region", "region", default=None, metavar="NAME",
              help="The region this consumer group writes.")
@click.option("--regions", "fanout", default=None, metavar="A,B",
              help="Fan-out mode: one group writes every listed region before committing.")
@click.option("--max-records", type=click.IntRange(1), default=5000, show_default=True,
              help="Records per polled batch.")
@click.option("--group-id", default=None, metavar="ID",
              help="Consumer group (default: cachesync.<region>[+<region>...]).")
@click.option("--commit-interval-ms", type=click.IntRange(10), default=500, show_default=True,
              help="How often applied offsets are committed.")
@click.option("--instance-id", default=None, metavar="ID", callback=_instance_id,
              envvar="CACHESYNC_CONSUMER_INSTANCE_ID",
              help="Static group membership (Kafka's group.instance.id): restarted with the "
                   "same id within the session timeout (10 s), the consumer gets its "
                   "partitions back at once, without a rebalance. Each consumer of a group "
                   "needs its own id (e.g. the pod's name); when a second one joins with an "
                   "id in use, the first exits with an error.")
def consume(*, config_path: str, region: str | None, fanout: str | None,
            max_records: int, group_id: str | None, commit_interval_ms: int,
            instance_id: str | None) -> None:
    """Apply change events to a region's Redis, fenced by version; SIGTERM stops cleanly.

    One consumer group per region (``--region``) keeps an outage local to its region;
    fan-out (``--regions a,b``) writes all of them before each commit, so the slowest
    region paces the others (see :mod:`consumers.worker`).
    """
    settings = load_or_exit(config_path)
    if (region is None) == (fanout is None):
        raise click.UsageError("give exactly one of --region NAME or --regions A,B")
    regions = [region] if region is not None else [r.strip() for r in (fanout or "").split(",")]
    unknown = [name for name in regions if name not in settings.regions]
    if unknown or not all(regions):
        raise click.UsageError(
            f"unknown region(s) {', '.join(unknown) or '(empty)'}; configured: "
            f"{', '.join(settings.regions)}"
        )
    serve_metrics(settings.metrics)
    try:
        asyncio.run(_run(RegionConsumer(settings, regions, max_records=max_records,
                                        group=group_id,
                                        commit_interval_s=commit_interval_ms / 1000,
                                        instance_id=instance_id)))
    except InstanceTakenOver as exc:
        raise click.ClickException(str(exc)) from None


async def _run(worker: RegionConsumer) -> None:
    gctune.tune()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await worker.run(stop)
