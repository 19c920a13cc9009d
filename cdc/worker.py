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
import contextlib
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import pymysql
import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, KafkaTimeoutError
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    retry_if_exception_type,
    stop_never,
    wait_exponential,
)

from cachesync import db
from cachesync.kafka import check_partitions, ensure_topic
from cdc import catalog, metrics
from cdc.assemble import Batch
from cdc.catalog import SourceConfigError
from cdc.checkpoint import CheckpointStore
from cdc.position import AckTracker, Position, SourceIdentity, StreamRewound
from cdc.publish import KafkaPublisher, SendWindow
from cdc.reader import Commit
from cdc.reader_process import ReaderProcess
from schemas.config import Settings

log = logging.getLogger(__name__)

CHECKPOINT_INTERVAL_S: Final = 0.2
IDLE_CHECKPOINT_INTERVAL_S: Final = 5.0
_BUSY_POLL_S: Final = 0.002
"""How often the worker looks at Kafka's acknowledgements while reads wait to be published."""
FLUSH_TIMEOUT_S: Final = 30.0
ER_MASTER_FATAL_ERROR_READING_BINLOG: Final = 1236
_PURGED_HINTS: Final = ("purged", "could not find", "not found")
RECONNECTABLE: Final = (StreamRewound, pymysql.err.OperationalError,
                        pymysql.err.InterfaceError, sa.exc.OperationalError,
                        sa.exc.InterfaceError, ConnectionError, OSError)
"""Lost connections: to the binlog stream (pymysql) and to the checkpoint's database
(SQLAlchemy wraps the same errors), e.g. while the server restarts."""


def kafka_unavailable(error: BaseException) -> bool:
    """Whether a Kafka failure is the cluster being unreachable or electing a leader (worth a
    new producer and a resend) rather than a refusal that would fail again (a record too
    large, missing authorization)."""
    return isinstance(error, KafkaError) and (error.retriable
                                               or isinstance(error, KafkaTimeoutError))


class PurgedBinlogError(RuntimeError):
    """The checkpoint's position is no longer in the source's binlog."""


@dataclass(slots=True)
class _Resume:
    """Where the next producer starts: the acknowledged position and the source's identity."""

    identity: SourceIdentity
    position: Position


class CdcWorker:
    """One source's binlog to Kafka; :meth:`run` until ``stop`` is set."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._source = db.create_engine(settings.source.dsn, "")
        self._checkpoints = CheckpointStore(db.engine_for(settings), settings.source.name)

    # -- start-up ---------------------------------------------------------------------------

    def prepare(self) -> tuple[SourceIdentity, Position]:
        """Check the source and the configured tables, and decide where to start."""
        with self._source.connect() as conn:
            variables = catalog.read_server_settings(conn)
        catalog.check_server_settings(variables)
        catalog.ShapeCatalog(self._settings, self._source).refresh()
        try:
            stored = self._checkpoints.load()
        except sa.exc.ProgrammingError as exc:
            raise catalog.SourceConfigError(
                f"the engine's positions table is missing ({exc.orig}); run "
                "`cachesync db upgrade --config FILE` first"
            ) from None
        if stored is None:
            identity = self._identity_of(variables, 0)
            start = self._current_position(variables)
            log.info("no checkpoint for source %r: starting at the binlog's end (%s)",
                     self._settings.source.name, start.gtid)
            self._save(start, identity)
            return identity, start
        identity = SourceIdentity(stored.server_id, stored.server_uuid, stored.epoch)
        return self._check_identity(identity, variables), stored.position

    def _identity_of(self, variables: Mapping[str, str], epoch: int) -> SourceIdentity:
        server_uuid = variables.get("server_uuid") if self._settings.source.flavor == "mysql" \
            else None
        return SourceIdentity(int(variables["server_id"]), server_uuid, epoch)

    def _check_identity(self, known: SourceIdentity, variables: Mapping[str, str] | None = None
                        ) -> SourceIdentity:
        """The source's identity now: the epoch goes up when the server is another one
        (a failover, possibly behind the same address), as binlog positions of two servers
        are not comparable."""
        if variables is None:
            with self._source.connect() as conn:
                variables = catalog.read_server_settings(conn)
        now = self._identity_of(variables, known.epoch)
        identity = known.now(now.server_id, now.server_uuid)
        if identity is not known:
            log.warning("source server changed (server_id %s, uuid %s → server_id %s, uuid %s): "
                        "failover, epoch %d", known.server_id, known.server_uuid,
                        now.server_id, now.server_uuid, identity.epoch)
        return identity

    def _current_position(self, variables: Mapping[str, str]) -> Position:
        mysql = self._settings.source.flavor == "mysql"
        with self._source.connect() as conn:
            try:  # MySQL 8.4 renamed SHOW MASTER STATUS
                status = conn.execute(sa.text(
                    "SHOW BINARY LOG STATUS" if mysql else "SHOW MASTER STATUS")).one()
            except sa.exc.ProgrammingError:
                status = conn.execute(sa.text("SHOW MASTER STATUS")).one()
        gtid = variables.get("gtid_executed" if mysql else "gtid_binlog_pos")
        return Position(gtid or None, str(status[0]), int(status[1]))

    def reset_to_current(self) -> Position:
        """Move the checkpoint to the binlog's current end, keeping the epoch right."""
        with self._source.connect() as conn:
            variables = catalog.read_server_settings(conn)
        stored = self._checkpoints.load()
        identity = self._identity_of(variables, 0) if stored is None else self._check_identity(
            SourceIdentity(stored.server_id, stored.server_uuid, stored.epoch), variables)
        position = self._current_position(variables)
        self._save(position, identity)
        return position

    # -- streaming --------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Stream until ``stop`` is set, then flush, checkpoint and return.

        A lost binlog or checkpoint connection reopens the stream from the checkpoint; a
        Kafka that stays unavailable longer than the producer's own retries (a broker
        restart, a leader election) replaces the producer and resends from the checkpoint.
        """
        identity, start = await asyncio.to_thread(self.prepare)
        kafka = self._settings.kafka
        check_partitions(kafka, kafka.topic, await ensure_topic(kafka, kafka.topic))
        retrying = AsyncRetrying(
            retry=retry_if_exception(kafka_unavailable), stop=stop_never,
            wait=wait_exponential(multiplier=0.5, max=10), reraise=True,
            before_sleep=lambda state: log.warning(
                "Kafka unavailable (%r); restarting the producer and sending again from the "
                "checkpoint", state.outcome.exception() if state.outcome else None),
        )
        resume = _Resume(identity, start)
        async for attempt in retrying:
            with attempt:
                if stop.is_set():
                    return
                await self._produce(resume, stop)

    async def _produce(self, resume: _Resume, stop: asyncio.Event) -> None:
        """Stream with one producer from ``resume``; whatever ends it, saves the acknowledged
        position as the checkpoint and leaves it in ``resume`` for the next producer."""
        identity = resume.identity
        producer = AIOKafkaProducer(
            bootstrap_servers=self._settings.kafka.bootstrap_servers,
            enable_idempotence=True, linger_ms=5, max_batch_size=512 * 1024,
            max_request_size=8 * 1024 * 1024,
        )
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        tracker = AckTracker(resume.position)
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
                    identity = await asyncio.to_thread(self._check_identity, identity)
                    await self._stream(identity, tracker, producer, stop)
        finally:
            try:
                await asyncio.wait_for(producer.flush(), FLUSH_TIMEOUT_S)
            except (TimeoutError, KafkaError):
                log.warning("Kafka did not acknowledge the last sends within %.0f s; they are "
                            "sent again from the checkpoint", FLUSH_TIMEOUT_S)
            await producer.stop()
            with contextlib.suppress(KafkaError):  # a failed send raises again: keep the
                tracker.advance()                  # prefix acknowledged before it
            final = tracker.acked
            await asyncio.to_thread(self._save, final, identity)
            log.info("stopped at %s (row %d of the next transaction)", final.gtid,
                     final.row_index)
            resume.identity, resume.position = identity, final

    def _save(self, position: Position, identity: SourceIdentity) -> None:
        self._checkpoints.save(position, identity.server_id, identity.server_uuid,
                               identity.epoch)

    async def _stream(self, identity: SourceIdentity, tracker: AckTracker,
                      producer: AIOKafkaProducer, stop: asyncio.Event) -> None:
        """One binlog connection, from the acknowledged position, until stop or error."""
        await producer.flush()
        start = tracker.advance()
        await asyncio.to_thread(self._save, start, identity)
        reader = ReaderProcess(self._settings, start, identity)
        await reader.start()
        publisher = KafkaPublisher(producer, self._settings.kafka.topic)
        saved = start
        saved_at = time.monotonic()
        acked_at_save = tracker.acked_sends
        newest_ts_ms = 0
        window = SendWindow()
        try:
            while not stop.is_set():
                item: Batch | BaseException = []
                if window.full:
                    await asyncio.sleep(_BUSY_POLL_S)
                else:
                    item = await reader.get(_BUSY_POLL_S if window.merged
                                            else CHECKPOINT_INTERVAL_S)
                if isinstance(item, BaseException):
                    raise self._classify(item, start)
                if item:
                    window.add(item)
                    newest_ts_ms = next((entry.ts_ms for entry in reversed(item)
                                         if isinstance(entry, Commit)), newest_ts_ms)
                if window.ready():
                    await self._publish(publisher, window, tracker)
                now = time.monotonic()
                if now - saved_at >= CHECKPOINT_INTERVAL_S:
                    position = tracker.advance()
                    # Saving is itself a transaction in the source's binlog when the engine
                    # schema lives there: a position moved only by transactions without
                    # configured rows (such as our own saves) is saved rarely, so an idle
                    # worker does not feed itself.
                    if position != saved and (
                            position.gtid == saved.gtid or tracker.acked_sends != acked_at_save
                            or now - saved_at >= IDLE_CHECKPOINT_INTERVAL_S):
                        await asyncio.to_thread(self._save, position, identity)
                        saved, saved_at = position, now
                        acked_at_save = tracker.acked_sends
                    metrics.CHECKPOINT_AGE.set(now - saved_at)
                    # Behind: the newest commit handed to Kafka while batches keep coming.
                    metrics.BEHIND.set(max(0.0, time.time() - newest_ts_ms / 1000)
                                       if item else 0.0)
            if window.merged:  # stopping: hand over what was read (the caller flushes)
                await self._publish(publisher, window, tracker)
        finally:
            await reader.stop()

    @staticmethod
    async def _publish(publisher: KafkaPublisher, window: SendWindow, tracker: AckTracker
                       ) -> None:
        """Publish what the window merged: one tracker entry, so the checkpoint moves past
        it once all of it is acknowledged."""
        batch = window.take()
        acked = await publisher.publish(batch)
        window.published(acked)
        tracker.push(acked, batch[-1].position, acked.records if acked else 0)

    def _classify(self, error: BaseException, start: Position) -> BaseException:
        if isinstance(error, pymysql.err.OperationalError) and error.args \
                and error.args[0] == ER_MASTER_FATAL_ERROR_READING_BINLOG:
            message = str(error.args[-1])
            if any(hint in message.lower() for hint in _PURGED_HINTS):
                return PurgedBinlogError(
                    f"the source no longer has the binlog for the checkpoint (GTID "
                    f"{start.gtid}, file {start.file} pos {start.pos}): {message}. Changes "
                    "since then cannot be streamed. Recover with a full reconcile "
                    "(`cachesync reconcile --config FILE`), then restart streaming from now "
                    "with `cachesync cdc reset-position --config FILE --to-current`."
                )
            return SourceConfigError(f"the source refused to stream the binlog: {message}")
        if isinstance(error, RECONNECTABLE):
            metrics.RECONNECTS.inc()
        return error


def reset_to_current(settings: Settings) -> Position:
    """Move the checkpoint to the binlog's current end (after a full reconcile)."""
    return CdcWorker(settings).reset_to_current()


def use_utc() -> None:
    """TIMESTAMP values are decoded in the process's time zone: make that UTC."""
    os.environ["TZ"] = "UTC"
    time.tzset()
