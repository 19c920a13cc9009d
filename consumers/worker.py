"""The region consumer: Kafka → fenced writes in one region's Redis (or several, fan-out).

One consumer group per region (``cachesync.<region>``): a region that is down or slow holds
back only its own group. The loop polls a batch, plans it (:mod:`consumers.plan`), applies
the actions, dead-letters poison records, and only then commits the batch's offsets. A
partition belongs to one process of the group at a time and its records are applied in
order, so one key's events never race. On a rebalance the revoked partitions' progress is
committed before they move (nothing is in flight then: the listener runs inside the poll).

Fan-out mode (``--regions a,b``) writes every listed region before committing, in one group:
fewer moving parts and one commit point, but the slowest region paces all of them and an
outage stalls every region. Choose it when regions must change together (e.g. two caches
next to one another); choose a group per region when an outage must stay local.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import redis.exceptions
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.structs import TopicPartition
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential

from cachesync.kafka import ensure_topic
from consumers import metrics
from consumers.plan import Plan, Poison, Record, plan_batch
from consumers.store import RedisStore
from schemas.actions import CacheAction, Outcome
from schemas.config import Settings

log = logging.getLogger(__name__)

RETRYABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


def _log_retry(region: str, state: RetryCallState) -> None:
    metrics.RETRIES.labels(region).inc()
    error = state.outcome.exception() if state.outcome is not None else None
    log.warning("region %s: Redis unavailable (%s); retry %d", region, error,
                state.attempt_number)


def group_id(regions: Sequence[str]) -> str:
    return "cachesync." + "+".join(sorted(regions))


class _Revoke(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, worker: RegionConsumer) -> None:
        self._worker = worker

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._worker.commit_pending(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("assigned partitions %s", sorted(tp.partition for tp in assigned))


class RegionConsumer:
    """Applies the change topic to the given regions' caches until stopped."""

    def __init__(self, settings: Settings, regions: Sequence[str], *,
                 max_records: int = 5000, group: str | None = None) -> None:
        self._settings = settings
        self._regions = list(regions)
        self._group = group or group_id(regions)
        self._label = "+".join(self._regions)
        self._max_records = max_records
        self._pending: dict[TopicPartition, int] = {}

    async def run(self, stop: asyncio.Event) -> None:
        topic = self._settings.kafka.topic
        settings = self._settings
        # aiokafka clients bind to the running loop, so they are made here, not in __init__.
        self._stores = [RedisStore(name, settings.regions[name].redis_url)
                        for name in self._regions]
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka.bootstrap_servers,
            group_id=self._group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        self._dlq = AIOKafkaProducer(
            bootstrap_servers=settings.kafka.bootstrap_servers, enable_idempotence=True
        )
        # A consumer may start before the CDC worker: without its topic it would be assigned
        # nothing until the next metadata refresh (minutes), so it creates both topics.
        for name in (settings.kafka.topic, settings.kafka.dlq_topic):
            await ensure_topic(settings.kafka, name)
        await self._dlq.start()
        await self._consumer.start()
        self._consumer.subscribe([topic], listener=_Revoke(self))
        log.info("consuming %s for region(s) %s as group %s", topic, self._label, self._group)
        try:
            while not stop.is_set():
                batch = await self._consumer.getmany(timeout_ms=200,
                                                     max_records=self._max_records)
                if batch:
                    await self._handle(batch, stop)
        finally:
            await self.commit_pending(None)
            await self._consumer.stop()
            await self._dlq.stop()
            for store in self._stores:
                await store.close()

    async def _handle(self, batch: dict[TopicPartition, list[object]],
                      stop: asyncio.Event) -> None:
        records = [
            Record(tp.topic, tp.partition, msg.offset, msg.key, msg.value)  # type: ignore[attr-defined]
            for tp, messages in sorted(batch.items(), key=lambda item: item[0].partition)
            for msg in messages
        ]
        plan = plan_batch(records, self._settings.tables)
        applied = await asyncio.gather(
            *(self._apply_region(store, plan, stop) for store in self._stores)
        )
        if not all(applied):
            return  # stopped while a region was unreachable: leave the batch uncommitted
        for poison in plan.poison:
            await self._dead_letter(poison)
        now = time.time()
        for store in self._stores:
            latency = metrics.LATENCY.labels(store.region)
            for event in plan.events:
                latency.observe(max(0.0, now - event.source.ts_ms / 1000))
        for partition, offset in plan.commit.items():
            self._pending[TopicPartition(self._settings.kafka.topic, partition)] = offset
        await self.commit_pending(None)
        for tp in batch:
            highwater = self._consumer.highwater(tp)
            if highwater is not None:
                metrics.LAG.labels(self._label, str(tp.partition)).set(
                    highwater - plan.commit[tp.partition])

    async def _apply_region(self, store: RedisStore, plan: Plan, stop: asyncio.Event) -> bool:
        """Apply with retries while Redis is unreachable; False if stopped before done."""
        if not plan.actions:
            return True
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(RETRYABLE),
            wait=wait_exponential(multiplier=0.1, max=5),
            before_sleep=lambda state: _log_retry(store.region, state),
        )
        async for attempt in retrying:
            if stop.is_set() and attempt.retry_state.attempt_number > 1:
                return False
            with attempt:
                try:
                    outcomes = await store.apply(plan.actions)
                except redis.exceptions.ResponseError:
                    outcomes = await self._apply_one_by_one(store, plan)
        self._count(store.region, plan.actions, outcomes)
        return True

    async def _apply_one_by_one(self, store: RedisStore, plan: Plan) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for action in plan.actions:
            try:
                outcomes += await store.apply([action])
            except redis.exceptions.ResponseError as exc:
                record = plan.sources[action.key]
                plan.poison.append(Poison(record, f"redis script error: {exc}", [
                    CacheAction("invalidate", action.key, action.version, 60)]))
                outcomes.append(Outcome.FENCED)
        return outcomes

    @staticmethod
    def _count(region: str, actions: Sequence[CacheAction], outcomes: Sequence[Outcome]) -> None:
        for action, outcome in zip(actions, outcomes, strict=True):
            if outcome is Outcome.APPLIED:
                metrics.APPLIED.labels(region, action.kind).inc()
            else:
                metrics.FENCED.labels(region).inc()

    async def _dead_letter(self, poison: Poison) -> None:
        record = poison.record
        log.error("dead-lettering %s[%d]@%d: %s", record.topic, record.partition, record.offset,
                  poison.error)
        headers = [
            ("cachesync.error", poison.error.encode()),
            ("cachesync.topic", record.topic.encode()),
            ("cachesync.partition", str(record.partition).encode()),
            ("cachesync.offset", str(record.offset).encode()),
            ("cachesync.region", self._label.encode()),
        ]
        await self._dlq.send_and_wait(self._settings.kafka.dlq_topic, record.value,
                                      key=record.key, headers=headers)
        for store in self._stores:
            if poison.invalidate:
                await store.apply(poison.invalidate)
            metrics.DLQ.labels(store.region).inc()

    async def commit_pending(self, partitions: list[TopicPartition] | None) -> None:
        offsets = {tp: off for tp, off in self._pending.items()
                   if partitions is None or tp in partitions}
        if not offsets:
            return
        await self._consumer.commit(offsets)
        for tp in offsets:
            self._pending.pop(tp, None)

