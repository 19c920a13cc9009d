"""The CDC worker: binlog → versioned change events → Kafka, with an exact checkpoint.

Start-up refuses a source whose binlog lacks full row images with column names, and a
configuration that names a missing table or column. The worker then streams from its
checkpoint (or from the binlog's current end on the first run), sends every event with an
idempotent producer (``acks=all``) to the partition of its key, and saves the
acknowledged prefix as the checkpoint every ``CHECKPOINT_INTERVAL_S`` (see
:mod:`cdc.position` for the resume contract).

Faults: a lost connection reopens the stream from the acknowledged position with backoff;
a checkpoint whose binlog is gone stops the worker with the recovery steps; SIGTERM
flushes, checkpoints and exits cleanly.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import queue
import threading
import time
from collections.abc import Mapping
from typing import Final

import pymysql
import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from tenacity import AsyncRetrying, retry_if_exception_type, stop_never, wait_exponential

from cachesync import db
from cachesync.kafka import ensure_topic
from cdc import catalog, metrics
from cdc.checkpoint import CheckpointStore
from cdc.normalize import TableShape
from cdc.position import AckTracker, Position
from cdc.reader import BinlogReader, Commit, Emit, SourceIdentity, StreamRewound
from schemas.config import Settings

log = logging.getLogger(__name__)

CHECKPOINT_INTERVAL_S: Final = 0.2
MAX_IN_FLIGHT: Final = 20_000
ER_MASTER_FATAL_ERROR_READING_BINLOG: Final = 1236
RECONNECTABLE: Final = (StreamRewound, pymysql.err.OperationalError,
                        pymysql.err.InterfaceError, ConnectionError, OSError)


class PurgedBinlogError(RuntimeError):
    """The checkpoint's position is no longer in the source's binlog."""


def _acked(future: asyncio.Future[object]) -> bool:
    if not future.done():
        return False
    error = future.exception()
    if error is not None:
        metrics.PRODUCER_ERRORS.inc()
        raise error
    return True


class CdcWorker:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._source = db.create_engine(settings.source.dsn, "")
        self._checkpoints = CheckpointStore(db.engine_for(settings), settings.source.name)
        self._shapes: dict[str, TableShape] = {}
        self._shapes_lock = threading.Lock()

    # -- start-up ---------------------------------------------------------------------------

    def prepare(self) -> tuple[SourceIdentity, Position]:
        """Check the source, load the table shapes, and decide where to start."""
        with self._source.connect() as conn:
            variables = catalog.read_server_settings(conn)
            catalog.check_server_settings(variables)
        self.refresh_shapes()
        try:
            stored = self._checkpoints.load()
        except sa.exc.ProgrammingError as exc:
            raise catalog.SourceConfigError(
                f"the engine's positions table is missing ({exc.orig}); run "
                "`cachesync db upgrade --config FILE` first"
            ) from None
        server_id = int(variables["server_id"])
        server_uuid = variables.get("server_uuid") if self._settings.source.flavor == "mysql" \
            else None
        if stored is None:
            identity = SourceIdentity(server_id, server_uuid, 0)
            start = self._current_position(variables)
            log.info("no checkpoint for source %r: starting at the binlog's end (%s)",
                     self._settings.source.name, start.gtid)
            self._checkpoints.save(start, server_id, server_uuid, 0)
            return identity, start
        epoch = stored.epoch
        if (stored.server_id, stored.server_uuid) != (server_id, server_uuid):
            epoch += 1
            log.warning("source identity changed (server_id %s → %s): failover, epoch %d",
                        stored.server_id, server_id, epoch)
        return SourceIdentity(server_id, server_uuid, epoch), stored.position

    def _current_position(self, variables: Mapping[str, str]) -> Position:
        with self._source.connect() as conn:
            status = conn.execute(sa.text("SHOW MASTER STATUS")).one()
        gtid = variables.get("gtid_binlog_pos") if self._settings.source.flavor == "mariadb" \
            else variables.get("gtid_executed")
        return Position(gtid or None, str(status[0]), int(status[1]))

    def refresh_shapes(self) -> None:
        with self._source.connect() as conn:
            columns = catalog.read_columns(conn, self._settings.schemas)
        shapes = catalog.build_shapes(self._settings, columns)
        with self._shapes_lock:
            self._shapes = shapes

    def shapes(self) -> Mapping[str, TableShape]:
        return self._shapes

    # -- streaming --------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        identity, start = await asyncio.to_thread(self.prepare)
        await ensure_topic(self._settings.kafka, self._settings.kafka.topic)
        producer = AIOKafkaProducer(
            bootstrap_servers=self._settings.kafka.bootstrap_servers,
            enable_idempotence=True, linger_ms=5, max_batch_size=512 * 1024,
            max_request_size=8 * 1024 * 1024,
        )
        await producer.start()
        tracker = AckTracker(start)
        try:
            retrying = AsyncRetrying(
                retry=retry_if_exception_type(RECONNECTABLE), stop=stop_never,
                wait=wait_exponential(multiplier=0.2, max=10), reraise=True,
                before_sleep=lambda state: log.warning(
                    "binlog stream lost (%s); reopening from the checkpoint",
                    state.outcome.exception() if state.outcome else None),
            )
            async for attempt in retrying:
                with attempt:
                    await self._stream(identity, tracker, producer, stop)
        finally:
            await producer.flush()
            await producer.stop()
            final = tracker.advance()
            await asyncio.to_thread(self._save, final, identity)
            log.info("stopped at %s (row %d of the next transaction)", final.gtid,
                     final.row_index)

    def _save(self, position: Position, identity: SourceIdentity) -> None:
        self._checkpoints.save(position, identity.server_id, identity.server_uuid,
                               identity.epoch)

    async def _stream(self, identity: SourceIdentity, tracker: AckTracker,
                      producer: AIOKafkaProducer, stop: asyncio.Event) -> None:
        await producer.flush()
        start = tracker.advance()
        out: queue.Queue[list[Emit | Commit] | BaseException] = queue.Queue(maxsize=8)
        reader = BinlogReader(
            dsn=self._settings.source.dsn, flavor=self._settings.source.flavor,
            replica_id=self._settings.source.server_id, start=start, shapes=self.shapes,
            refresh_shapes=self.refresh_shapes, identity=identity,
            partitions=self._settings.kafka.partitions, out=out,
            heartbeat_s=self._settings.source.heartbeat_interval_ms / 1000,
        )
        thread = threading.Thread(target=reader.run, name="binlog-reader", daemon=True)
        thread.start()
        topic = self._settings.kafka.topic
        saved = start
        saved_at = time.monotonic()
        try:
            while not stop.is_set():
                try:
                    item = await asyncio.to_thread(out.get, True, CHECKPOINT_INTERVAL_S)
                except queue.Empty:
                    item = []
                if isinstance(item, BaseException):
                    raise self._classify(item, start)
                for entry in item:
                    if isinstance(entry, Emit):
                        future = await producer.send(topic, entry.value, key=entry.key,
                                                     partition=entry.partition)
                        tracker.push(functools.partial(_acked, future), entry.position)
                        metrics.EVENTS.labels(entry.table, entry.op).inc()
                    else:
                        tracker.push(None, entry.position)
                while len(tracker) > MAX_IN_FLIGHT:
                    await asyncio.sleep(0.005)
                    tracker.advance()
                now = time.monotonic()
                if now - saved_at >= CHECKPOINT_INTERVAL_S:
                    position = tracker.advance()
                    if position != saved:
                        await asyncio.to_thread(self._save, position, identity)
                        saved, saved_at = position, now
                    metrics.CHECKPOINT_AGE.set(now - saved_at)
                    metrics.BEHIND.set(max(0.0, time.time() - reader.last_event_ts)
                                       if out.qsize() else 0.0)
        finally:
            reader.stop()
            await asyncio.to_thread(thread.join, 10)

    def _classify(self, error: BaseException, start: Position) -> BaseException:
        if isinstance(error, pymysql.err.OperationalError) and \
                error.args and error.args[0] == ER_MASTER_FATAL_ERROR_READING_BINLOG:
            return PurgedBinlogError(
                f"the source no longer has the binlog for the checkpoint (GTID {start.gtid}, "
                f"file {start.file} pos {start.pos}): {error.args[-1]}. Changes since then "
                "cannot be streamed. Recover with a full reconcile "
                "(`cachesync reconcile --config FILE`), then restart streaming from now with "
                "`cachesync cdc reset-position --config FILE --to-current`."
            )
        if isinstance(error, RECONNECTABLE):
            metrics.RECONNECTS.inc()
        return error


def reset_to_current(settings: Settings) -> Position:
    """Move the checkpoint to the binlog's current end (after a full reconcile)."""
    worker = CdcWorker(settings)
    with worker._source.connect() as conn:
        variables = catalog.read_server_settings(conn)
    stored = worker._checkpoints.load()
    epoch = stored.epoch if stored is not None else 0
    position = worker._current_position(variables)
    server_uuid = variables.get("server_uuid") if settings.source.flavor == "mysql" else None
    worker._checkpoints.save(position, int(variables["server_id"]), server_uuid, epoch)
    return position


def use_utc() -> None:
    """TIMESTAMP values are decoded in the process's time zone: make that UTC."""
    os.environ["TZ"] = "UTC"
    time.tzset()
