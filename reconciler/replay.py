"""The replay engine: change events from a range → the consumers' decisions → every region.

The events come from the Kafka topic (:func:`kafka_events`) or from the binlog
(:mod:`reconciler.adapters`); the decision is the consumers' ``decide``; the writes go
through each region's fenced store in event order, in batches. ``--dry-run`` plans the same
actions and hands them to a printer instead of the stores.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, TopicPartition

from reconciler import metrics
from reconciler.ratelimit import RateLimiter
from reconciler.replay_plan import (
    Decide,
    KafkaRange,
    ReplayFilter,
    ReplayMode,
    ReplayRangeError,
    plan_event,
)
from schemas.actions import CacheAction, CacheStore, Outcome
from schemas.config import Settings
from schemas.events import ChangeEvent, CodecError, decode_event

log = logging.getLogger(__name__)

BATCH_ACTIONS: Final = 500

Printer = Callable[[str, CacheAction], None]


@dataclass(slots=True)
class ReplayStats:
    events_read: int = 0
    events_matched: int = 0
    undecodable: int = 0
    by_region: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, region: str, name: str, amount: int) -> None:
        counts = self.by_region.setdefault(region, {"planned": 0, "applied": 0, "fenced": 0})
        counts[name] += amount

    def to_json(self) -> dict[str, Any]:
        return {"events_read": self.events_read, "events_matched": self.events_matched,
                "undecodable": self.undecodable, "regions": self.by_region}


async def replay(
    events: AsyncIterator[ChangeEvent],
    settings: Settings,
    stores: Mapping[str, CacheStore],
    decide: Decide,
    *,
    mode: ReplayMode | None,
    selection: ReplayFilter,
    max_events_per_second: float | None,
    printer: Printer | None,
    stats: ReplayStats,
) -> ReplayStats:
    """Re-drive ``events``; with ``printer`` (dry run) nothing is written."""
    limiter = RateLimiter(max_events_per_second)
    pending: list[CacheAction] = []
    for region in stores:
        stats.add(region, "planned", 0)
    async for event in events:
        stats.events_read += 1
        actions = plan_event(event, settings.tables, decide, mode, selection)
        if not actions:
            continue
        stats.events_matched += 1
        await limiter.acquire(1)
        pending.extend(actions)
        if len(pending) >= BATCH_ACTIONS:
            await _flush(pending, stores, stats, printer)
            pending = []
    await _flush(pending, stores, stats, printer)
    return stats


async def _flush(
    actions: list[CacheAction], stores: Mapping[str, CacheStore], stats: ReplayStats,
    printer: Printer | None,
) -> None:
    if not actions:
        return
    for region, store in stores.items():
        stats.add(region, "planned", len(actions))
        if printer is not None:
            for action in actions:
                printer(region, action)
            continue
        outcomes = await store.apply(actions)
        applied = sum(1 for outcome in outcomes if outcome is Outcome.APPLIED)
        stats.add(region, "applied", applied)
        stats.add(region, "fenced", len(outcomes) - applied)
        metrics.REPLAY_ACTIONS.labels(region, "applied").inc(applied)
        metrics.REPLAY_ACTIONS.labels(region, "fenced").inc(len(outcomes) - applied)


def _ms(value: dt.datetime) -> int:
    return int(value.timestamp() * 1000)


async def kafka_events(
    settings: Settings, rng: KafkaRange, stats: ReplayStats | None = None
) -> AsyncIterator[ChangeEvent]:
    """Events of every partition of the topic within the range, each partition in order.

    The end is fixed when the replay starts (the high-water marks then, or ``--kafka-to-*``),
    so a replay of a live topic terminates.
    """
    topic = settings.kafka.topic
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka.bootstrap_servers, group_id=None,
        enable_auto_commit=False, auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        partitions = (await consumer.topics()) and consumer.partitions_for_topic(topic)
        if not partitions:
            raise ReplayRangeError(f"Kafka topic {topic!r} does not exist")
        tps = [TopicPartition(topic, partition) for partition in sorted(partitions)]
        consumer.assign(tps)
        first = await consumer.beginning_offsets(tps)
        high = await consumer.end_offsets(tps)
        start = await _kafka_starts(consumer, tps, rng, first, high)
        stop = await _kafka_stops(consumer, tps, rng, high)
        remaining = {tp for tp in tps if start[tp] < stop[tp]}
        for tp in tps:
            consumer.seek(tp, start[tp])
        log.info("replaying %s: %s", topic, ", ".join(
            f"p{tp.partition}[{start[tp]}..{stop[tp]})" for tp in tps))
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000, max_records=2000)
            for tp, records in batches.items():
                for record in records:
                    if record.offset >= stop[tp]:
                        remaining.discard(tp)
                        break
                    try:
                        yield decode_event(record.value)
                    except CodecError:
                        log.warning("skipping undecodable record %s:%d@%d", tp.topic,
                                    tp.partition, record.offset)
                        if stats is not None:
                            stats.undecodable += 1
                if await consumer.position(tp) >= stop[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()


async def _kafka_starts(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition], rng: KafkaRange,
    first: dict[TopicPartition, int], high: dict[TopicPartition, int],
) -> dict[TopicPartition, int]:
    if rng.from_offset is not None:
        for tp in tps:
            if rng.from_offset < first[tp] and first[tp] > 0:
                raise ReplayRangeError(
                    f"--kafka-from-offset {rng.from_offset}: partition {tp.partition} no "
                    f"longer holds it (log start offset {first[tp]})"
                )
        return {tp: min(rng.from_offset, high[tp]) for tp in tps}
    assert rng.from_time is not None  # check_kafka_range guarantees one start
    found = await consumer.offsets_for_times({tp: _ms(rng.from_time) for tp in tps})
    starts: dict[TopicPartition, int] = {}
    for tp in tps:
        hit = found.get(tp)
        starts[tp] = hit.offset if hit is not None else high[tp]
        if hit is not None and hit.offset == first[tp] > 0:
            raise ReplayRangeError(
                f"--kafka-from-time {rng.from_time.isoformat()}: partition {tp.partition} "
                f"starts at offset {first[tp]} (older records were deleted by retention)"
            )
    return starts


async def _kafka_stops(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition], rng: KafkaRange,
    high: dict[TopicPartition, int],
) -> dict[TopicPartition, int]:
    """Exclusive end offset per partition."""
    if rng.to_offset is not None:
        return {tp: min(rng.to_offset + 1, high[tp]) for tp in tps}
    if rng.to_time is None:
        return dict(high)
    found = await consumer.offsets_for_times({tp: _ms(rng.to_time) + 1 for tp in tps})
    return {tp: (hit.offset if (hit := found.get(tp)) is not None else high[tp]) for tp in tps}


def now_utc() -> dt.datetime:
    return dt.datetime.fromtimestamp(time.time(), dt.UTC)
