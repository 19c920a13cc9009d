"""The inspector on real services: Kafka in, every region's Redis and the DB read.

One task tails the change topic (consumer group ``cachesync.inspector`` by default, from the
latest offsets: it measures live traffic and commits nothing, so every start begins at the
end) and schedules probes for sampled events; one task runs the probes in rounds as they fall due
(one batched read per region for all probes of a round, then the DB re-check of the
suspects in a worker thread); one task rewrites the JSON report every few seconds.

Stopping: ``stop`` ends sampling, and the probes already scheduled still run when they fall
due (at most the longest window later), so the report covers every sampled event;
``abandon`` ends at once, and the probes not yet due are reported as ``pending``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import IllegalStateError
from aiokafka.structs import ConsumerRecord, TopicPartition
from redis.exceptions import RedisError

from cachesync import db
from cachesync.inspector import metrics
from cachesync.inspector.core import (
    IDLE_WAKE_S,
    PROBE_ROUND_S,
    Findings,
    Probe,
    Sample,
    Schedule,
    Tally,
    Verdict,
    cache_verdict,
    db_verdict,
    is_sampled,
    next_round_at,
    nines,
    nines_supported,
    window_label,
)
from cachesync.kafka import ensure_topic, group_consumer
from consumers.decide import CompiledRule, DecisionError, compile_rules, targets
from consumers.store import RedisStore
from reconciler.classify import value_checksum
from reconciler.codec import TableCodec
from reconciler.engine import SelectionError, TableSpec, resolve_table
from schemas.actions import CacheEntry
from schemas.config import Settings
from schemas.events import CodecError, decode_event

log = logging.getLogger(__name__)

DEFAULT_GROUP: Final = "cachesync.inspector"
SHOWN_VALUE_BYTES: Final = 512
"""Values in the report are cut to this many bytes (the checksum covers the whole value)."""

NINES_NOTE: Final = (
    "checked counts one cache key of a sampled event in one region after one window; "
    "nines = -log10(inconsistent / checked), null when nothing failed; nines_supported = "
    "log10(checked / 3): with 0 failures in N checks the failure rate is below 3/N at 95% "
    "confidence (rule of three), so a sample of N cannot show more nines than that")

RowKey = tuple[str, str]
"""(table, primary key as canonical JSON)."""


@dataclass(frozen=True, slots=True)
class InspectOptions:
    sample_rate: float = 0.1
    windows_s: tuple[float, ...] = (1.0, 10.0)
    group_id: str = DEFAULT_GROUP
    duration_s: float | None = None
    """Sample for this long, then finish the scheduled probes and stop (None: until stopped)."""
    report_path: Path | None = None
    report_interval_s: float = 2.0
    max_pending: int = 100_000
    """Probes waiting at once; a sample that does not fit is counted as ``dropped``."""
    max_listed: int = 100
    """Inconsistencies kept with their context in the report."""


def _row_key(table: str, pk: Mapping[str, Any]) -> RowKey:
    return table, json.dumps(pk, sort_keys=True, default=str)


def _shown(value: bytes | None) -> str | None:
    if value is None:
        return None
    return value[:SHOWN_VALUE_BYTES].decode("utf-8", errors="replace")


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def write_report(path: Path, report: Mapping[str, Any]) -> None:
    """Replace ``path`` atomically, so a reader never sees half a report."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


class Inspector:
    """Samples applied events and checks every region after each window."""

    def __init__(self, settings: Settings, options: InspectOptions) -> None:
        self._settings = settings
        self._options = options
        self._rules: dict[str, CompiledRule] = compile_rules(settings.tables)
        self._regions = list(settings.regions)
        self._windows = tuple(sorted(set(options.windows_s)))
        self._schedule = Schedule(options.max_pending)
        self._tally = Tally(self._regions, self._windows)
        self._findings = Findings(options.max_listed)
        self._events: dict[str, int] = dict.fromkeys(
            ("received", "sampled", "unconfigured", "undecodable", "undecidable", "dropped",
             "db_errors"), 0)
        self._specs: dict[str, TableSpec] = {}
        self._started_at = _utc_now()
        self._running = False
        self._assigned = 0
        self._probes_run = 0
        self._delay_sum_s = 0.0
        self._delay_max_s = 0.0
        self._stores: dict[str, RedisStore] = {}
        self._source: sa.Engine | None = None

    # -- the report ------------------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        """The figures so far (the JSON report)."""
        return {
            "started_at": self._started_at,
            "updated_at": _utc_now(),
            "running": self._running,
            "topic": self._settings.kafka.topic,
            "group_id": self._options.group_id,
            "partitions_assigned": self._assigned,
            "sample_rate": self._options.sample_rate,
            "windows_s": list(self._windows),
            "events": {**self._events, "pending_probes": len(self._schedule)},
            "probe_delay_s": {
                "mean": round(self._delay_sum_s / max(1, self._probes_run), 3),
                "max": round(self._delay_max_s, 3),
            },
            "regions": self._tally.to_json(),
            "nines_note": NINES_NOTE,
            "inconsistencies": list(self._findings.kept),
            "inconsistencies_not_listed": self._findings.dropped,
        }

    def summary(self) -> list[str]:
        regions = self._tally.to_json()
        return [figures["summary"] for per_window in regions.values()
                for figures in per_window.values()]

    # -- lifecycle -------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, abandon: asyncio.Event | None = None
                  ) -> dict[str, Any]:
        """Sample until ``stop`` (or the duration), finish the scheduled probes (unless
        ``abandon``), write the report and return it."""
        abandon = abandon or asyncio.Event()
        settings = self._settings
        for region in self._regions:  # every series from the start, at zero
            for window in self._windows:
                for counter in (metrics.CHECKED, metrics.INCONSISTENT, metrics.MISSES):
                    counter.labels(region, window_label(window))
                self._gauge(region, window)
        self._stores = {name: RedisStore(name, settings.regions[name].redis_url)
                        for name in self._regions}
        self._source = db.create_engine(settings.source.dsn, "", pool_size=2)
        consumer = group_consumer(settings.kafka, self._options.group_id,
                                  auto_offset_reset="latest")
        sampling_done = asyncio.Event()
        try:
            await ensure_topic(settings.kafka, settings.kafka.topic)
            await consumer.start()
            consumer.subscribe([settings.kafka.topic])
            self._running = True
            log.info("inspecting %s as group %s: sample rate %g, windows %s", settings.kafka.topic,
                     self._options.group_id, self._options.sample_rate,
                     ", ".join(window_label(w) for w in self._windows))
            workers = [
                asyncio.create_task(self._consume(consumer, (stop, abandon), sampling_done)),
                asyncio.create_task(self._probe_loop(sampling_done, abandon)),
            ]
            tasks = [*workers, asyncio.create_task(self._report_loop())]
            try:
                # Both end normally (sampling stopped, probes drained or abandoned); the
                # first failure ends the run.
                done, _ = await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
                for task in done:
                    task.result()
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            self._running = False
            await consumer.stop()
            for store in self._stores.values():
                await store.close()
            self._source.dispose()
        report = self.report()
        if self._options.report_path is not None:
            await asyncio.to_thread(write_report, self._options.report_path, report)
        for line in self.summary():
            log.info("%s", line)
        return report

    async def _consume(self, consumer: AIOKafkaConsumer, stops: Sequence[asyncio.Event],
                       sampling_done: asyncio.Event) -> None:
        deadline = (None if self._options.duration_s is None
                    else time.monotonic() + self._options.duration_s)
        try:
            positioned: set[TopicPartition] = set()
            while not any(event.is_set() for event in stops) and (
                    deadline is None or time.monotonic() < deadline):
                batch = await consumer.getmany(timeout_ms=100, max_records=2000)
                received = time.monotonic()
                for tp, records in batch.items():
                    for record in records:
                        self._receive(tp.partition, record, received)
                assignment = consumer.assignment()
                if assignment != positioned:
                    positioned = await self._positions(consumer, assignment)
        finally:
            sampling_done.set()
        log.info("sampling stopped; %d probe(s) still scheduled", len(self._schedule))

    async def _positions(self, consumer: AIOKafkaConsumer, assignment: set[TopicPartition]
                         ) -> set[TopicPartition]:
        """Wait until the start offsets (the latest, reset lazily) of newly assigned partitions
        are fixed: only then does ``partitions_assigned`` count them, so whoever waits for it
        knows that every event published from then on will be seen."""
        try:
            for tp in assignment:
                await consumer.position(tp)
        except IllegalStateError:
            return set()  # revoked meanwhile: the next round looks again
        self._assigned = len(assignment)
        return set(assignment)

    def _receive(self, partition: int, record: ConsumerRecord[bytes, bytes], received: float
                 ) -> None:
        self._events["received"] += 1
        try:
            event = decode_event(record.value or b"")
        except CodecError:
            self._events["undecodable"] += 1
            return
        rule = self._rules.get(event.table)
        if rule is None:
            self._events["unconfigured"] += 1
            return
        if not is_sampled(self._options.sample_rate, event.table, event.key, event.version):
            return
        try:
            keys = tuple(dict.fromkeys(target.key for target in targets(event, rule)))
        except DecisionError:
            self._events["undecidable"] += 1  # the consumers dead-letter it
            return
        sample = Sample(event.table, event.pk, event.version, keys, partition, record.offset,
                        received)
        if not self._schedule.add(sample, self._windows):
            self._events["dropped"] += 1
            return
        self._events["sampled"] += 1
        metrics.SAMPLED.inc()

    async def _probe_loop(self, sampling_done: asyncio.Event, abandon: asyncio.Event) -> None:
        while not abandon.is_set():
            if sampling_done.is_set() and not self._schedule:
                return
            started = time.monotonic()
            due = self._schedule.pop_due(started + PROBE_ROUND_S)
            if due:
                # Early (negative) is strict; late is lenient (more time to converge): say
                # how late they ran.
                delays = [started - probe.due for probe in due]
                self._probes_run += len(delays)
                self._delay_sum_s += sum(delays)
                self._delay_max_s = max(self._delay_max_s, *delays)
                await self.check(due)
            wake = next_round_at(started, self._schedule.next_due())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(abandon.wait(),
                                       min(IDLE_WAKE_S, max(0.0, wake - time.monotonic())))

    async def _report_loop(self) -> None:
        path = self._options.report_path
        if path is None:
            return
        while True:
            await asyncio.to_thread(write_report, path, self.report())
            await asyncio.sleep(self._options.report_interval_s)

    # -- the checks ------------------------------------------------------------------------

    async def check(self, probes: Sequence[Probe]) -> None:
        """Read every region for the probes' keys, re-check suspects in the DB, count."""
        keys = list(dict.fromkeys(key for probe in probes for key in probe.sample.keys))
        reads = await asyncio.gather(*(self._read(region, keys) for region in self._regions))
        suspects: list[tuple[str, Probe, str, CacheEntry]] = []
        verdicts: Counter[tuple[str, float, Verdict]] = Counter()
        for region, entries in zip(self._regions, reads, strict=True):
            if entries is None:
                for probe in probes:
                    self._tally.error(region, probe.window_s, len(probe.sample.keys))
                continue
            for probe in probes:
                for key in probe.sample.keys:
                    entry = entries[key]
                    verdict = cache_verdict(probe.sample.version, entry)
                    if verdict is Verdict.SUSPECT:
                        assert entry is not None  # a miss is never suspect
                        suspects.append((region, probe, key, entry))
                    else:
                        verdicts[region, probe.window_s, verdict] += 1
        if suspects:
            rows = {_row_key(probe.sample.table, probe.sample.pk): probe.sample
                    for _, probe, _, _ in suspects}
            current = await asyncio.to_thread(self._current_rows, list(rows.values()))
            for region, probe, key, entry in suspects:
                now = current.get(_row_key(probe.sample.table, probe.sample.pk))
                if now is None:
                    self._tally.error(region, probe.window_s)
                    continue
                verdict = db_verdict(entry, now.get(key))
                verdicts[region, probe.window_s, verdict] += 1
                if verdict is Verdict.INCONSISTENT:
                    self._found(region, probe, key, entry, now.get(key))
        for (region, window_s, verdict), amount in verdicts.items():
            self._count(region, window_s, verdict, amount)
        for region in self._regions:
            for window in {probe.window_s for probe in probes}:
                self._gauge(region, window)

    async def _read(self, region: str, keys: list[str]) -> dict[str, CacheEntry | None] | None:
        try:
            entries = await self._stores[region].read(keys)
        except (RedisError, OSError) as exc:
            log.warning("region %s: reading %d key(s) failed (%s: %s); counted as errors",
                        region, len(keys), type(exc).__name__, exc)
            return None
        return dict(zip(keys, entries, strict=True))

    def _count(self, region: str, window_s: float, verdict: Verdict, amount: int) -> None:
        self._tally.record(region, window_s, verdict, amount)
        label = window_label(window_s)
        metrics.CHECKED.labels(region, label).inc(amount)
        if verdict is Verdict.INCONSISTENT:
            metrics.INCONSISTENT.labels(region, label).inc(amount)
        elif verdict is Verdict.MISS:
            metrics.MISSES.labels(region, label).inc(amount)

    def _gauge(self, region: str, window_s: float) -> None:
        counts = self._tally.counts[(region, window_s)]
        measured = nines(counts["checked"], counts["inconsistent"])
        metrics.NINES.labels(region, window_label(window_s)).set(
            nines_supported(counts["checked"]) if measured is None else measured)

    def _found(self, region: str, probe: Probe, key: str, entry: CacheEntry,
               db_value: bytes | None) -> None:
        sample = probe.sample
        context = {
            "region": region, "window_s": probe.window_s, "key": key, "table": sample.table,
            "pk": dict(sample.pk), "event_version": sample.version,
            "partition": sample.partition, "offset": sample.offset,
            "entry_version": entry.version, "entry_value": _shown(entry.value),
            "entry_checksum": value_checksum(entry.value),
            "db_value": _shown(db_value),
            "db_checksum": None if db_value is None else value_checksum(db_value),
            "db_row": "present" if db_value is not None else "absent (no row renders the key)",
            "checked_at": _utc_now(),
        }
        if self._findings.add(context):
            log.warning("inconsistent: region %s holds %s at version %s %g s after version %s "
                        "(table %s, partition %d offset %d); the DB %s", region, key,
                        entry.version, probe.window_s, sample.version, sample.table,
                        sample.partition, sample.offset,
                        "has another value" if db_value is not None else "has no such row")

    # -- the DB re-check (worker thread) ---------------------------------------------------

    def _current_rows(self, samples: Sequence[Sample]) -> dict[RowKey, dict[str, bytes]]:
        """For each sample's row: the keys it renders now and their values ({}: no row).
        A row that cannot be read is left out (its suspects count as errors, not alarms)."""
        assert self._source is not None
        found: dict[RowKey, dict[str, bytes]] = {}
        try:
            with self._source.connect() as conn:
                # TIMESTAMP columns read as UTC, as the CDC worker decodes them.
                conn.exec_driver_sql("SET SESSION time_zone = '+00:00'")
                for sample in samples:
                    try:
                        found[_row_key(sample.table, sample.pk)] = self._current_row(
                            conn, sample)
                    except (SelectionError, DecisionError, KeyError, ValueError) as exc:
                        self._events["db_errors"] += 1
                        log.warning("cannot re-check %s %s in the DB: %s", sample.table,
                                  dict(sample.pk), exc)
                conn.rollback()
        except sa.exc.DBAPIError as exc:
            self._events["db_errors"] += len(samples)
            log.warning("DB re-check failed (%s); %d row(s) not verified", type(exc.orig).__name__,
                      len(samples))
        return found

    def _current_row(self, conn: sa.Connection, sample: Sample) -> dict[str, bytes]:
        spec = self._specs.get(sample.table)
        if spec is None:
            spec = resolve_table(conn, sample.table, self._settings.tables[sample.table],
                                 TableCodec)
            self._specs[sample.table] = spec
        table = spec.table
        condition = sa.and_(*(table.c[name] == _db_param(table.c[name], sample.pk[name])
                              for name in spec.pk))
        row = conn.execute(sa.select(*(table.c[name] for name in spec.columns))
                           .where(condition)).first()
        if row is None:
            return {}
        wire = spec.codec.wire(spec.columns, row)
        value = spec.codec.value(wire)
        return dict.fromkeys(spec.codec.keys(wire), value)


def _db_param(column: sa.Column[Any], wire: object) -> object:
    """A primary-key value as the DB compares it: binary columns travel base64 on the wire."""
    if isinstance(wire, str):
        try:
            python_type = column.type.python_type
        except NotImplementedError:
            return wire
        if python_type is bytes:
            return base64.b64decode(wire)
    return wire
