"""Wiring: the reconciler and the replay engine on real services.

This is where the reconciler meets the rest of cachesync: the consumers' Redis store (the
same fenced scripts the live stream uses), their key rendering and value encoding, their
``decide``, and the CDC worker's row decoding for binlog replays.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from cachesync import db
from consumers.decide import decide
from consumers.store import RedisStore
from reconciler.binlog_source import binlog_events, read_source_state
from reconciler.codec import TableCodec
from reconciler.engine import ReconcileOptions, Reconciler, SelectionError
from reconciler.ports import KeyScanner
from reconciler.replay import Printer, ReplayStats, kafka_events, now_utc, replay
from reconciler.replay_plan import (
    BinlogRange,
    KafkaRange,
    ReplayFilter,
    ReplayMode,
    check_kafka_range,
)
from reconciler.runs import RunStore
from schemas.actions import CacheStore
from schemas.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Regions:
    stores: dict[str, CacheStore]
    scanners: dict[str, KeyScanner]


def _selected(settings: Settings, regions: Sequence[str] | None) -> list[str]:
    if regions is None:
        return list(settings.regions)
    unknown = [name for name in regions if name not in settings.regions]
    if unknown:
        raise SelectionError(
            f"region(s) not in the configuration: {', '.join(unknown)} "
            f"(configured: {', '.join(settings.regions)})"
        )
    return list(regions)


@asynccontextmanager
async def open_regions(
    settings: Settings, regions: Sequence[str] | None
) -> AsyncIterator[Regions]:
    """The selected regions' stores (the consumers' fenced Redis store) and key scanners."""
    opened = {name: RedisStore(name, settings.regions[name].redis_url)
              for name in _selected(settings, regions)}
    try:
        yield Regions(stores=dict(opened), scanners=dict(opened))
    finally:
        await asyncio.gather(*(store.close() for store in opened.values()))


async def run_reconcile(
    settings: Settings, regions: Sequence[str] | None, options: ReconcileOptions
) -> dict[str, Any]:
    """One reconcile run on the configured source, engine schema and regions."""
    source = db.create_engine(settings.source.dsn, "")
    engine = db.engine_for(settings)
    runs = RunStore(engine, f"cachesync.reconcile.{settings.source.name}")
    try:
        async with open_regions(settings, regions) as opened:
            reconciler = Reconciler(
                settings=settings, source=source, runs=runs, stores=opened.stores,
                scanners=opened.scanners, codec_factory=TableCodec, options=options,
            )
            return await reconciler.run()
    finally:
        source.dispose()
        engine.dispose()


@dataclass(frozen=True, slots=True)
class ReplayRequest:
    binlog: BinlogRange | None
    kafka: KafkaRange | None
    selection: ReplayFilter
    mode: ReplayMode | None
    max_events_per_second: float | None
    regions: Sequence[str] | None


async def run_replay(
    settings: Settings, request: ReplayRequest, *, printer: Printer | None
) -> ReplayStats:
    """Check the range, then re-drive it into the selected regions (or the printer)."""
    stats = ReplayStats()
    if request.kafka is not None:
        check_kafka_range(request.kafka, now_utc())
        events = kafka_events(settings, request.kafka, stats)
    else:
        assert request.binlog is not None  # the CLI requires one of the two
        state = await asyncio.to_thread(read_source_state, settings)
        events = binlog_events(settings, request.binlog, state)
    async with open_regions(settings, request.regions) as opened:
        return await replay(
            events, settings, opened.stores, decide, mode=request.mode,
            selection=request.selection, max_events_per_second=request.max_events_per_second,
            printer=printer, stats=stats,
        )

