"""The region consumer: Kafka → fenced writes in one region's Redis (or several, fan-out).

One consumer group per region (``cachesync.<region>``): a region that is down or slow holds
back only its own group, while the other regions' groups go on.

Inside a process, one fetch loop polls Kafka and hands each assigned partition's records to
that partition's own task, which applies them strictly in offset order, a batch at a time
(:mod:`consumers.plan`): a key always maps to one partition, so two events of one key never
run concurrently, while the batches of different partitions that are ready together share
one script call and round trip (:mod:`consumers.coalesce`).

Commits (:mod:`consumers.offsets`): a partition's task records the offset after a batch only
once every region it writes acknowledged the batch and its poison records were
dead-lettered; the fetch loop commits those offsets every ``commit_interval_s``. While a
region's Redis is unreachable its writes are retried with capped exponential backoff,
indefinitely; the partition's queue fills up and the partition is paused, so the process
keeps polling (and stays in the group) without fetching more of it, and nothing past the
unapplied batch is committed.

Revoke (``on_partitions_revoked``) and shutdown (SIGTERM/SIGINT; ``stop()`` calls no
listener) do the same: drop what is queued, let the in-flight batch of each partition
finish (up to ``release_grace_s``: a batch stuck on an unreachable Redis is abandoned, and
since it is not committed the next owner re-applies it), commit what was applied.

Fan-out mode (``--regions a,b``) writes every listed region before committing, in one group:
fewer processes and one commit point, but the slowest region paces all of them and an
outage of one stalls every region. Choose it when the regions must move together and are
equally reachable (e.g. two caches in one data centre); choose a group per region (the
default) when an outage or slowness must stay local to its region.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from aiokafka import AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition
from redis.exceptions import RedisError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential_jitter

from cachesync.kafka import ensure_topic, group_consumer
from consumers import metrics
from consumers.coalesce import CoalescingStore
from consumers.decide import compile_rules
from consumers.offsets import OffsetBook, PartitionQueue
from consumers.plan import KafkaRecord, Plan, Poison, dead_letter_headers, plan_batch
from consumers.store import FenceRefused, RedisStore, is_transient, pack
from schemas.actions import CacheAction, Outcome
from schemas.config import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")


def group_id(regions: Sequence[str]) -> str:
    """The consumer group of a region (or of a fan-out set of regions)."""
    return "cachesync." + "+".join(sorted(regions))


def _retryable(exc: BaseException) -> bool:
    """Only failures of a whole call are retried; keys Redis refused (:class:`FenceRefused`)
    are the events' problem and go to the dead-letter topic instead. A non-transient error
    of a whole call (a permission, a broken script) is not any event's fault either: it is
    retried too, logged as an error, and holds back only this region."""
    return isinstance(exc, RedisError | OSError) and not isinstance(exc, FenceRefused)


def _log_failure(region: str, what: str, error: BaseException | None, attempt: int,
                 sleep_s: float) -> None:
    metrics.RETRIES.labels(region).inc()
    level = logging.WARNING if error is None or is_transient(error) else logging.ERROR
    log.log(level, "region %s: %s failed (%s: %s); retry %d in %.1f s", region, what,
            type(error).__name__, error, attempt, sleep_s)


_FIRST_BACKOFF_S: Final = 0.1


def _retry_forever(region: str, what: str) -> AsyncRetrying:
    """Retries after a first failure, with capped backoff, indefinitely, logging each one."""

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        _log_failure(region, what, error, state.attempt_number + 1,
                     state.next_action.sleep if state.next_action else 0.0)

    return AsyncRetrying(
        retry=retry_if_exception(_retryable),
        wait=wait_exponential_jitter(multiplier=2 * _FIRST_BACKOFF_S, max=5.0),
        before_sleep=before_sleep,
        reraise=True,
    )


async def _with_retry(region: str, what: str, call: Callable[[], Awaitable[T]]) -> T:
    """``call()``, retried on failures of the whole call until it succeeds.

    The first attempt runs outside tenacity: a retry loop costs about 20 µs to set up, as
    much as applying a small batch, and a consumer applies hundreds of batches a second.
    """
    try:
        return await call()
    except Exception as exc:
        if not _retryable(exc):
            raise
        _log_failure(region, what, exc, 1, _FIRST_BACKOFF_S)
    await asyncio.sleep(_FIRST_BACKOFF_S)
    async for attempt in _retry_forever(region, what):
        with attempt:
            result = await call()
            log.info("region %s: %s succeeded after %d attempts", region, what,
                     attempt.retry_state.attempt_number + 1)
            return result
    raise AssertionError("unreachable: the retry policy never gives up")


class InstanceTakenOver(RuntimeError):
    """The group no longer knows this consumer under its instance id: another process
    joined with the same id, or this one stalled past the session timeout."""


def _guard_instance(consumer: Any, group: str, instance_id: str,
                    fail: Callable[[BaseException], None]) -> None:
    """Stop, rather than take the instance id back, once the group has let this member go.

    aiokafka's heartbeat (version 1) does not carry the instance id, so a second process
    joining with the same id is not fenced as Kafka's Java client would be: the group gives
    it the id's member, the first one hears that its member id is unknown, and aiokafka
    would rejoin at once and take the id back, the two owning every partition by turns for
    as long as both run (measured). Every way aiokafka learns that the group dropped its
    member ends in ``reset_generation``; for a member that had joined, this fails the
    consumer instead and does not rejoin.
    """
    coordinator = consumer._coordinator  # aiokafka has no public hook for this
    reset = coordinator.reset_generation

    def reset_generation() -> None:
        if coordinator.member_id:
            fail(InstanceTakenOver(
                f"consumer group {group!r}: the group let this consumer's instance id "
                f"{instance_id!r} go (another consumer joined with the same id, or this "
                "one stalled past the session timeout); stopping instead of taking it "
                "back: two running consumers must not share an instance id"))
            return
        reset()

    coordinator.reset_generation = reset_generation


@dataclass(eq=False)
class _Partition:
    """One assigned partition: its queue and the task that applies it in order."""

    tp: TopicPartition
    queue: PartitionQueue
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    closing: bool = False
    paused: bool = False


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, worker: RegionConsumer) -> None:
        self._worker = worker

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._worker.release([tp.partition for tp in revoked])

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self._worker.assign(assigned)


class RegionConsumer:
    """Applies the change topic to the given regions' caches until stopped."""

    def __init__(self, settings: Settings, regions: Sequence[str], *,
                 max_records: int = 5000, group: str | None = None,
                 commit_interval_s: float = 0.5, release_grace_s: float = 10.0,
                 instance_id: str | None = None) -> None:
        """``instance_id``: static group membership (Kafka's ``group.instance.id``)."""
        self._settings = settings
        self._topic = settings.kafka.topic
        self._regions = list(regions)
        self._group = group or group_id(regions)
        self._label = "+".join(self._regions)
        self._max_records = max_records
        self._commit_interval_s = commit_interval_s
        self._release_grace_s = release_grace_s
        self._instance_id = instance_id
        self._parts: dict[int, _Partition] = {}
        self._book = OffsetBook()
        self._commit_lock = asyncio.Lock()
        self._failure: BaseException | None = None
        self._redis: list[RedisStore] = []
        self._stores: list[CoalescingStore] = []
        self._rules = compile_rules(settings.tables)

    async def run(self, stop: asyncio.Event) -> None:
        settings = self._settings
        # aiokafka clients bind to the running loop, so they are made here, not in __init__.
        self._redis = [RedisStore(name, settings.regions[name].redis_url)
                       for name in self._regions]
        self._stores = [CoalescingStore(store) for store in self._redis]
        self._consumer = group_consumer(settings.kafka, self._group,
                                        auto_offset_reset="earliest",
                                        max_partition_fetch_bytes=4 * 1024 * 1024,
                                        group_instance_id=self._instance_id)
        self._dlq = AIOKafkaProducer(
            bootstrap_servers=settings.kafka.bootstrap_servers, enable_idempotence=True
        )
        # A consumer may start before the CDC worker: it creates both topics, and one created
        # by another process at the same moment shows up at its next metadata refresh
        # (cachesync.kafka.GROUP_METADATA_MAX_AGE_MS), when it rejoins with the partitions.
        for name in (settings.kafka.topic, settings.kafka.dlq_topic):
            await ensure_topic(settings.kafka, name)
        await self._dlq.start()
        try:
            await self._consumer.start()
            if self._instance_id is not None:
                _guard_instance(self._consumer, self._group, self._instance_id, self._fail)
            self._consumer.subscribe([self._topic], listener=_Listener(self))
            log.info("consuming %s for region(s) %s as group %s%s", self._topic, self._label,
                     self._group, "" if self._instance_id is None
                     else f", instance id {self._instance_id}")
            try:
                await self._fetch_loop(stop)
            finally:
                await self.release(list(self._parts))
                await self._consumer.stop()
        finally:
            await self._dlq.stop()
            for store in self._redis:
                await store.close()
        log.info("stopped consuming for region(s) %s", self._label)

    async def _fetch_loop(self, stop: asyncio.Event) -> None:
        last_commit = time.monotonic()
        while not stop.is_set():
            batch = await self._consumer.getmany(timeout_ms=100, max_records=self._max_records)
            for tp, messages in batch.items():
                self._dispatch(tp, messages)
            if self._failure is not None:
                raise self._failure
            if time.monotonic() - last_commit >= self._commit_interval_s:
                await self._commit(self._book.due(self._live()))
                self._observe_lag()
                last_commit = time.monotonic()

    def _fail(self, error: BaseException) -> None:
        """End the fetch loop with ``error`` (first one wins)."""
        if self._failure is None:
            self._failure = error

    def _dispatch(self, tp: TopicPartition, messages: list[KafkaRecord]) -> None:
        part = self._parts.get(tp.partition)
        if part is None or part.closing:
            return  # revoked meanwhile: the next owner fetches these from the commit
        if part.queue.feed(messages):
            part.wake.set()
        if part.queue.full and not part.paused:
            self._consumer.pause(tp)
            part.paused = True

    def _live(self) -> list[int]:
        return [n for n, part in self._parts.items() if not part.closing]

    def assign(self, assigned: list[TopicPartition]) -> None:
        """Start a task per newly assigned partition (listener callback)."""
        log.info("region(s) %s: assigned partitions %s", self._label,
                 sorted(tp.partition for tp in assigned))
        for tp in assigned:
            if tp.topic != self._topic or tp.partition in self._parts:
                continue
            part = _Partition(tp, PartitionQueue(high_water=2 * self._max_records,
                                                 low_water=self._max_records // 2))
            part.task = asyncio.create_task(self._apply_partition(part),
                                            name=f"apply-{tp.partition}")
            self._parts[tp.partition] = part

    async def release(self, partitions: list[int]) -> None:
        """Finish the in-flight batches of these partitions, commit, and let them go."""
        parts = [self._parts.pop(n) for n in partitions if n in self._parts]
        if not parts:
            return
        for part in parts:
            part.closing = True
            part.queue.clear()
            part.wake.set()
        tasks = [part.task for part in parts if part.task is not None]
        _, stuck = await asyncio.wait(tasks, timeout=self._release_grace_s)
        for task in stuck:
            log.warning("region(s) %s: abandoning the in-flight batch of %s after %.0f s; "
                        "it is not committed, so the next owner applies it", self._label,
                        task.get_name(), self._release_grace_s)
            task.cancel()
        await asyncio.gather(*stuck, return_exceptions=True)
        numbers = [part.tp.partition for part in parts]
        await self._commit(self._book.due(numbers))
        self._book.forget(numbers)
        for number in numbers:
            with contextlib.suppress(KeyError):  # never observed in this assignment
                metrics.LAG.remove(self._label, str(number))

    async def _commit(self, offsets: dict[int, int]) -> None:
        if not offsets:
            return
        async with self._commit_lock:
            try:
                await self._consumer.commit(
                    {TopicPartition(self._topic, n): offset for n, offset in offsets.items()})
            except KafkaError as exc:
                # A rebalance raced the commit: the offsets stay due, and anything the next
                # owner re-applies is a fenced duplicate.
                log.warning("region(s) %s: commit of %s failed: %s", self._label, offsets, exc)
                return
        self._book.committed(offsets)

    def _observe_lag(self) -> None:
        for number, part in self._parts.items():
            highwater = self._consumer.highwater(part.tp)
            position = self._book.position(number)
            if highwater is not None and position is not None:
                metrics.LAG.labels(self._label, str(number)).set(highwater - position)

    async def _apply_partition(self, part: _Partition) -> None:
        events = metrics.EVENTS.labels(self._label)
        try:
            while not part.closing:
                records = part.queue.take(self._max_records)
                if not records:
                    part.wake.clear()
                    await part.wake.wait()
                    continue
                if part.paused and part.queue.drained:
                    self._consumer.resume(part.tp)
                    part.paused = False
                plan = plan_batch(records, self._rules)
                await self._apply_plan(plan)
                self._book.applied(part.tp.partition, plan.next_offset)
                events.inc(len(records))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("region(s) %s: partition %d failed", self._label, part.tp.partition)
            self._fail(exc)

    async def _apply_plan(self, plan: Plan) -> None:
        if len(self._stores) == 1:  # the usual case: no gather (a task per region and batch)
            refused = [await self._apply_region(self._stores[0], plan)]
        else:
            refused = await asyncio.gather(*(self._apply_region(store, plan)
                                             for store in self._stores))
        for poison in plan.poison + [p for region_poison in refused for p in region_poison]:
            await self._dead_letter(poison)

    async def _apply_region(self, store: CoalescingStore, plan: Plan) -> list[Poison]:
        """Apply a plan in one region, retrying until Redis takes it; the refused keys."""
        if not plan.keys:
            return []
        try:
            outcomes = await _with_retry(store.region, "apply", functools.partial(
                store.apply_packed, plan.keys, plan.packed))
        except FenceRefused as exc:
            outcomes = exc.outcomes
            poison = [self._refused(plan, plan.actions[index], reason)
                      for index, reason in exc.refused.items()]
        else:
            poison = []
        # Every planned event of the batch is applied now (or superseded by a newer one
        # that is), each measured from its own commit.
        now = time.time()
        metrics.LATENCY.observe_since(store.region, "row", now, plan.row_commit_s)
        metrics.LATENCY.observe_since(store.region, "binlog", now, plan.binlog_commit_s)
        self._count(store.region, plan.actions, outcomes)
        return poison

    @staticmethod
    def _refused(plan: Plan, action: CacheAction, reason: str) -> Poison:
        origin = plan.origins[action.key]
        tombstone = CacheAction("invalidate", action.key, action.version,
                                origin.tombstone_ttl_seconds)
        return Poison(origin.record, f"redis refused {action.key!r}: {reason}", [tombstone])

    @staticmethod
    def _count(region: str, actions: Sequence[CacheAction], outcomes: Sequence[Outcome]) -> None:
        applied: dict[str, int] = {}
        fenced = 0
        for action, outcome in zip(actions, outcomes, strict=True):
            if outcome is Outcome.APPLIED:
                applied[action.kind] = applied.get(action.kind, 0) + 1
            else:
                fenced += 1
        for kind, count in applied.items():
            metrics.APPLIED.labels(region, kind).inc(count)
        if fenced:
            metrics.FENCED.labels(region).inc(fenced)

    async def _dead_letter(self, poison: Poison) -> None:
        """Publish a poison record with its error and position, then write its tombstones.

        Waits for Kafka's acknowledgement: the batch is committed only after it, so a
        poison record is never lost between the topic and the dead-letter topic.
        """
        record = poison.record
        log.error("region(s) %s: dead-lettering %s[%d]@%d: %s", self._label, record.topic,
                  record.partition, record.offset, poison.error)
        await self._dlq.send_and_wait(
            self._settings.kafka.dlq_topic, record.value, key=record.key,
            headers=dead_letter_headers(poison, self._label, self._group))
        metrics.DLQ.labels(self._label).inc()
        if not poison.invalidate:
            return
        for store in self._stores:
            try:
                await _with_retry(store.region, "invalidate", functools.partial(
                    store.apply_packed, [a.key for a in poison.invalidate],
                    [pack(a) for a in poison.invalidate]))
            except FenceRefused as exc:
                log.error(  # noqa: TRY400 - Redis's refusal is the message; no traceback needed
                    "region %s: could not write tombstones for dead letter %s[%d]@%d: %s",
                    store.region, record.topic, record.partition, record.offset, exc)
