"""The reconcile run: snapshot, keyset scan, compare with every region, fenced repair.

Order of work, per table: chunks of rows in primary-key order at the snapshot (the next
chunk is read in a thread while the current one is compared), then the orphan scan (SCAN of
each region for the table's key templates, checked against the same snapshot). After each
chunk's repairs were acknowledged, the cursor and counts are stored (:mod:`reconciler.runs`).

Resume with a new snapshot. ``--resume`` cannot reopen the killed run's snapshot, so it
takes a new one and scans on from the stored cursor. That is still exact, key by key: every
comparison and repair only uses the snapshot it was read in, and a fill at snapshot version
``S1`` holds the state at ``S1`` while anything the stream wrote since has a newer version
and wins. Chunks before the cursor were reconciled as of ``S1``, those after it as of
``S2 > S1``; rows inserted before the cursor after ``S1`` are the stream's to cache and the
next run's to check.

Concurrency: DB reads are synchronous (SQLAlchemy) and run in a worker thread; the snapshot
connection is used by one thread at a time (fetches are strictly sequential).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter as CountMap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import sqlalchemy as sa

from reconciler import metrics
from reconciler.classify import DriftClass, ExpectedEntry, classify, plan_repair, value_checksum
from reconciler.keys import KeyPattern, key_pattern
from reconciler.keyset import chunk_query, chunk_size, select_columns
from reconciler.ports import KeyScanner, RowCodec
from reconciler.ratelimit import RateLimiter
from reconciler.report import SampleAction, Tally, build_report
from reconciler.runs import DONE, FAILED, Cursor, RunStore
from reconciler.snapshot import SnapshotPosition, begin_snapshot
from schemas.actions import CacheAction, CacheEntry, CacheStore, Outcome
from schemas.config import Settings, TableConfig

log = logging.getLogger(__name__)

DEFAULT_CHUNK_ROWS: Final = 5000
SCAN_BATCH: Final = 1000
LOOKUP_BATCH: Final = 500


class SelectionError(LookupError):
    """A table or region named on the command line is not configured, or not in the source."""


@dataclass(frozen=True, slots=True)
class ReconcileOptions:
    tables: Sequence[str] | None = None
    """Configured tables to scan (None: all)."""
    dry_run: bool = False
    max_rows_per_second: float | None = None
    resume: bool = False
    """Continue the newest unfinished run; otherwise such runs are marked abandoned."""
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    orphan_scan: bool = True
    max_listed_actions: int = 1000


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A configured table resolved against the source."""

    name: str
    rule: TableConfig
    table: sa.Table
    pk: tuple[str, ...]
    columns: tuple[str, ...]
    codec: RowCodec


CodecFactory = Callable[[TableConfig, Mapping[str, str]], RowCodec]
"""``(rule, {column: information_schema DATA_TYPE}) -> RowCodec``."""


def resolve_table(
    conn: sa.Connection, name: str, rule: TableConfig, codec_factory: CodecFactory
) -> TableSpec:
    schema, _, table_name = name.partition(".")
    try:
        table = sa.Table(table_name, sa.MetaData(), schema=schema, autoload_with=conn)
    except sa.exc.NoSuchTableError:
        raise SelectionError(f"table {name} does not exist in the source") from None
    pk = tuple(column.name for column in table.primary_key.columns)
    if not pk:
        raise SelectionError(f"table {name} has no primary key; the reconciler needs one")
    all_columns = [column.name for column in table.columns]
    data_types: dict[str, str] = dict(conn.execute(
        sa.text("SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = :schema AND TABLE_NAME = :table"),
        {"schema": schema, "table": table_name},
    ).all())
    needed = None if rule.columns is None else [
        *rule.columns, *rule.template_columns(),
        *([rule.version_column] if rule.version_column else []),
    ]
    missing = sorted(set(needed or []) - set(all_columns))
    if missing:
        raise SelectionError(f"table {name} has no column(s) {', '.join(missing)}")
    columns = tuple(select_columns(all_columns, pk, needed, []))
    return TableSpec(name, rule, table, pk, columns, codec_factory(rule, data_types))


@dataclass(slots=True)
class _RegionWork:
    """One region's share of a chunk: drift counts by class and the planned repairs."""

    actions: list[CacheAction] = field(default_factory=list)
    drift: CountMap[str] = field(default_factory=CountMap)


class Reconciler:
    def __init__(
        self,
        *,
        settings: Settings,
        source: sa.Engine,
        runs: RunStore,
        stores: Mapping[str, CacheStore],
        scanners: Mapping[str, KeyScanner],
        codec_factory: CodecFactory,
        options: ReconcileOptions,
    ) -> None:
        self._settings = settings
        self._source = source
        self._runs = runs
        self._stores = stores
        self._scanners = scanners
        self._codec_factory = codec_factory
        self._options = options
        self._limiter = RateLimiter(options.max_rows_per_second)
        self._tally = Tally()
        self._samples: list[SampleAction] = []
        self._samples_dropped = 0

    @property
    def tally(self) -> Tally:
        """Counts so far (the report's ``tables``)."""
        return self._tally

    def _table_names(self) -> list[str]:
        configured = list(self._settings.tables)
        if self._options.tables is None:
            return configured
        unknown = [name for name in self._options.tables if name not in self._settings.tables]
        if unknown:
            raise SelectionError(
                f"table(s) not in the configuration: {', '.join(unknown)} "
                f"(configured: {', '.join(configured)})"
            )
        return list(self._options.tables)

    async def run(self) -> dict[str, Any]:
        """One run; the report carries ``exit_code`` (0 clean, 1 drift, 2 error)."""
        started = time.monotonic()
        names = self._table_names()
        await asyncio.to_thread(self._runs.lock)
        try:
            run_id, resumed, cursors = await asyncio.to_thread(self._open_run)
            snapshots: list[dict[str, Any]] = []
            status, error = DONE, None
            try:
                await self._scan(run_id, names, cursors, snapshots)
            except Exception as exc:
                log.exception("reconcile run %d failed", run_id)
                status, error = FAILED, f"{type(exc).__name__}: {exc}"
            await asyncio.to_thread(self._runs.finish, run_id, status, self._tally)
        finally:
            await asyncio.to_thread(self._runs.unlock)
        return build_report(
            run_id=run_id, status=status, dry_run=self._options.dry_run, resumed=resumed,
            snapshots=snapshots, tally=self._tally,
            warm={name: rule.warm for name, rule in self._settings.tables.items()},
            samples=self._samples, samples_dropped=self._samples_dropped,
            elapsed_s=time.monotonic() - started, error=error,
        )

    def _open_run(self) -> tuple[int, bool, dict[str, Cursor]]:
        if self._options.resume:
            previous = self._runs.last_unfinished()
            if previous is not None:
                run_id, dry_run, tally = previous
                if dry_run != self._options.dry_run:
                    raise SelectionError(
                        f"the unfinished run {run_id} was "
                        f"{'a dry run' if dry_run else 'not a dry run'}: resume it with the "
                        "same --dry-run setting, or --restart"
                    )
                self._runs.reopen(run_id)
                self._tally = tally
                log.info("resuming reconcile run %d", run_id)
                return run_id, True, self._runs.cursors(run_id)
            log.info("no unfinished reconcile run to resume; starting a new one")
        else:
            abandoned = self._runs.abandon_unfinished()
            if abandoned:
                log.info("marked %d unfinished reconcile run(s) abandoned", abandoned)
        return self._runs.start(dry_run=self._options.dry_run), False, {}

    async def _scan(
        self, run_id: int, names: list[str], cursors: dict[str, Cursor],
        snapshots: list[dict[str, Any]],
    ) -> None:
        epoch = await asyncio.to_thread(self._runs.epoch, self._settings.source.name)
        conn = self._source.connect().execution_options(isolation_level="REPEATABLE READ")
        try:
            snapshot = await asyncio.to_thread(
                begin_snapshot, conn, self._settings.source.flavor, epoch
            )
            snapshots.append(snapshot.to_json())
            await asyncio.to_thread(self._runs.record_snapshot, run_id, snapshot)
            log.info("snapshot at %s:%d (gtid %s), version %s", snapshot.file, snapshot.pos,
                     snapshot.gtid, snapshot.version)
            for name in names:
                cursor = cursors.get(name, Cursor(None, False, 0))
                if cursor.done:
                    log.info("%s: already done in this run", name)
                    continue
                spec = await asyncio.to_thread(
                    resolve_table, conn, name, self._settings.tables[name], self._codec_factory
                )
                self._tally.touch(name, list(self._stores))
                cursor = await self._scan_table(run_id, conn, spec, snapshot, cursor)
                if self._options.orphan_scan:
                    await self._orphan_scan(conn, spec, snapshot)
                await asyncio.to_thread(
                    self._runs.save_progress, run_id, name,
                    Cursor(cursor.last_pk, True, cursor.rows_scanned), self._tally,
                )
            conn.rollback()
        finally:
            conn.close()

    async def _scan_table(
        self, run_id: int, conn: sa.Connection, spec: TableSpec, snapshot: SnapshotPosition,
        cursor: Cursor,
    ) -> Cursor:
        limit = chunk_size(self._options.max_rows_per_second, default=self._options.chunk_rows)

        def fetch(last_pk: tuple[object, ...] | None) -> Sequence[sa.Row[Any]]:
            query = chunk_query(spec.table, spec.columns, spec.pk, last_pk, limit)
            return conn.execute(query).all()

        pending = asyncio.ensure_future(asyncio.to_thread(fetch, cursor.last_pk))
        try:
            while True:
                rows = await pending
                if not rows:
                    return cursor
                last = rows[-1]._mapping
                last_pk = tuple(last[name] for name in spec.pk)
                if len(rows) == limit:
                    pending = asyncio.ensure_future(asyncio.to_thread(fetch, last_pk))
                else:
                    pending = asyncio.ensure_future(_no_rows())
                await self._limiter.acquire(len(rows))
                await self.compare_rows(spec, rows, snapshot)
                cursor = Cursor(last_pk, False, cursor.rows_scanned + len(rows))
                await asyncio.to_thread(self._runs.save_progress, run_id, spec.name, cursor,
                                        self._tally)
        finally:
            # A failed compare must not close the snapshot connection under a running fetch.
            await asyncio.wait([pending])

    async def compare_rows(
        self, spec: TableSpec, rows: Sequence[sa.Row[Any]], snapshot: SnapshotPosition
    ) -> None:
        """Compare one chunk with every region and repair what drifted."""
        keys: list[str] = []
        expected: list[ExpectedEntry] = []
        codec = spec.codec
        columns = spec.columns
        versioned = spec.rule.version_column is not None
        for row in rows:
            mapping = codec.wire(columns, row)
            version = (codec.version(mapping) if versioned else None) or snapshot.version
            entry = ExpectedEntry(codec.value(mapping), version)
            row_keys = codec.keys(mapping)
            keys += row_keys
            expected += [entry] * len(row_keys)
        self._tally.add_rows(spec.name, len(rows))
        metrics.ROWS_SCANNED.labels(spec.name).inc(len(rows))
        await asyncio.gather(*(
            self._compare_region(spec=spec, region=region, store=store, keys=keys,
                                 expected=expected, snapshot=snapshot)
            for region, store in self._stores.items()
        ))

    async def _compare_region(
        self, *, spec: TableSpec, region: str, store: CacheStore, keys: list[str],
        expected: Sequence[ExpectedEntry | None], snapshot: SnapshotPosition,
    ) -> None:
        entries = await store.read(keys)
        work = _RegionWork()
        rule = spec.rule
        for key, row, entry in zip(keys, expected, entries, strict=True):
            if entry is not None and row is not None and entry.value == row.value:
                continue  # the common case, decided without a call (see classify)
            drift = classify(row, entry, snapshot.version, rule)
            if drift is None:
                continue
            work.drift[drift.value] += 1
            action = plan_repair(drift, key=key, row=row, entry=entry,
                                 snapshot_version=snapshot.version, rule=rule)
            if action is not None:
                work.actions.append(action)
                self._sample(spec.name, region, drift, action, entry)
        await self._apply(spec.name, region, store, work)

    async def _apply(self, table: str, region: str, store: CacheStore, work: _RegionWork) -> None:
        for name, count in work.drift.items():
            self._tally.add(table, region, name, count)
            metrics.DRIFT.labels(table, region, name).inc(count)
        if not work.actions:
            return
        self._tally.add(table, region, "planned", len(work.actions))
        if self._options.dry_run:
            return
        outcomes = await store.apply(work.actions)
        applied = sum(1 for outcome in outcomes if outcome is Outcome.APPLIED)
        fenced = len(outcomes) - applied
        self._tally.add(table, region, "applied", applied)
        self._tally.add(table, region, "fenced", fenced)
        metrics.REPAIRS.labels(table, region, "applied").inc(applied)
        metrics.REPAIRS.labels(table, region, "fenced").inc(fenced)

    def _sample(
        self, table: str, region: str, drift: DriftClass, action: CacheAction,
        entry: CacheEntry | None,
    ) -> None:
        if len(self._samples) >= self._options.max_listed_actions:
            self._samples_dropped += 1
            return
        self._samples.append(SampleAction(
            table=table, region=region, key=action.key, drift=drift.value, kind=action.kind,
            version=action.version,
            cached_version=entry.version if entry is not None else None,
            cached_checksum=value_checksum(entry.value) if entry is not None else None,
        ))

    async def _orphan_scan(
        self, conn: sa.Connection, spec: TableSpec, snapshot: SnapshotPosition
    ) -> None:
        """Entries under the table's templates whose row the snapshot does not have."""
        for template in spec.rule.cache_keys:
            pattern = key_pattern(template)
            for region, scanner in self._scanners.items():
                async for batch in scanner.scan(pattern.glob, SCAN_BATCH):
                    self._tally.add_keys(spec.name, len(batch))
                    await self._orphan_batch(conn=conn, spec=spec, snapshot=snapshot,
                                             pattern=pattern, region=region, batch=batch)

    async def _orphan_batch(
        self, *, conn: sa.Connection, spec: TableSpec, snapshot: SnapshotPosition,
        pattern: KeyPattern, region: str, batch: list[str],
    ) -> None:
        parsed = {key: fields for key in set(batch)
                  if (fields := pattern.parse(key)) is not None}
        if not parsed:
            return
        live = await asyncio.to_thread(live_keys, conn, spec, pattern, parsed)
        candidates = [key for key in parsed if key not in live]
        if not candidates:
            return
        store = self._stores[region]
        entries = await store.read(candidates)
        orphans = {
            key: entry for key, entry in zip(candidates, entries, strict=True)
            if entry is not None
            and classify(None, entry, snapshot.version, spec.rule) is DriftClass.ORPHAN
        }
        if orphans and spec.rule.version_column is not None:
            # Version-column orphans are tombstoned at E.v+1, which a re-insert made after
            # the snapshot could collide with: re-check them against the DB as it is now.
            recheck = {key: parsed[key] for key in orphans}
            now_live = await asyncio.to_thread(self._live_now, spec, pattern, recheck)
            orphans = {key: entry for key, entry in orphans.items() if key not in now_live}
        work = _RegionWork()
        for key, entry in orphans.items():
            work.drift[DriftClass.ORPHAN.value] += 1
            action = plan_repair(DriftClass.ORPHAN, key=key, row=None, entry=entry,
                                 snapshot_version=snapshot.version, rule=spec.rule)
            if action is not None:
                work.actions.append(action)
                self._sample(spec.name, region, DriftClass.ORPHAN, action, entry)
        await self._apply(spec.name, region, store, work)

    def _live_now(
        self, spec: TableSpec, pattern: KeyPattern, parsed: Mapping[str, dict[str, str]]
    ) -> set[str]:
        with self._source.connect() as conn:
            return live_keys(conn, spec, pattern, parsed)


async def _no_rows() -> Sequence[sa.Row[Any]]:
    return ()


def live_keys(
    conn: sa.Connection, spec: TableSpec, pattern: KeyPattern,
    parsed: Mapping[str, dict[str, str]],
) -> set[str]:
    """Which of the parsed keys a row of the table renders to (as ``conn`` sees the DB)."""
    columns = [spec.table.c[name] for name in pattern.fields]
    wanted = list(parsed.items())
    live: set[str] = set()
    for start in range(0, len(wanted), LOOKUP_BATCH):
        part = wanted[start:start + LOOKUP_BATCH]
        if len(columns) == 1:
            condition = columns[0].in_([fields[pattern.fields[0]] for _, fields in part])
        else:
            condition = sa.tuple_(*columns).in_(
                [tuple(fields[name] for name in pattern.fields) for _, fields in part]
            )
        rows = conn.execute(sa.select(*columns).where(condition)).all()
        keys = {key for key, _ in part}
        for row in rows:
            rendered = spec.codec.render(pattern.template,
                                         spec.codec.wire(pattern.fields, row))
            if rendered in keys:
                live.add(rendered)
    return live
