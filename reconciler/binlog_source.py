"""Change events of a binlog range, read by the CDC worker's own reader.

The range is checked against what the source holds (``SHOW BINARY LOGS`` and the GTID
state at the start of the oldest file) before anything is read. The stream starts at the
GTID state of ``--from-pos`` (``BINLOG_GTID_POS``), or at the oldest binlog for
``--from-gtid``/``--from-time`` (earlier events are skipped), and ends at the range's end
or at the binlog's end as it was when the replay started, so a replay always terminates.

The reader announces itself with a replica server id of its own (see :func:`replica_id`):
a second reader with the CDC worker's id would kick the worker off the primary.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import queue
import threading
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa

from cachesync import db
from cdc import catalog
from cdc.normalize import TableShape
from cdc.position import Position
from cdc.reader import BinlogReader, Commit, Emit, SourceIdentity
from reconciler.replay_plan import (
    BinlogRange,
    Gtid,
    ReplayRangeError,
    before_start,
    check_binlog_range,
    parse_gtid_list,
    past_end,
)
from reconciler.runs import source_epoch
from schemas.config import Settings
from schemas.events import ChangeEvent, decode_event

log = logging.getLogger(__name__)

POLL_S: Final = 0.5


@dataclass(frozen=True, slots=True)
class SourceState:
    """What the source holds when the replay starts."""

    files: list[tuple[str, int]]
    """``SHOW BINARY LOGS``: (file, size), oldest first."""
    oldest_gtid: str
    """GTID state at the start of the oldest file."""
    end_gtid: str
    """GTID state at the binlog's end: where an open-ended replay stops."""
    server_id: int
    columns: list[tuple[str, str, str, str, str]]
    """Catalog rows of the configured schemas (:func:`cdc.catalog.read_columns`)."""
    now: dt.datetime


def replica_id(server_id: int) -> int:
    """The replay reader's replica id: the worker's id moved into the top of the id space."""
    return 0xC0000000 | (server_id & 0x3FFFFFFF)


def read_source_state(settings: Settings) -> SourceState:
    engine = db.create_engine(settings.source.dsn, "")
    try:
        with engine.connect() as conn:
            files = [(str(row[0]), int(row[1]))
                     for row in conn.execute(sa.text("SHOW BINARY LOGS"))]
            oldest = conn.execute(sa.text("SELECT BINLOG_GTID_POS(:file, 4)"),
                                  {"file": files[0][0]}).scalar() if files else None
            variables = catalog.read_server_settings(conn)
            columns = catalog.read_columns(conn, settings.schemas)
        return SourceState(files=files, oldest_gtid=str(oldest or ""),
                           end_gtid=variables.get("gtid_binlog_pos", ""),
                           server_id=int(variables["server_id"]), columns=columns,
                           now=dt.datetime.now(dt.UTC))
    finally:
        engine.dispose()


def start_state(settings: Settings, rng: BinlogRange, state: SourceState) -> str:
    """The GTID state the stream starts after."""
    if rng.from_pos is None:
        return state.oldest_gtid
    engine = db.create_engine(settings.source.dsn, "")
    try:
        with engine.connect() as conn:
            gtid = conn.execute(sa.text("SELECT BINLOG_GTID_POS(:file, :pos)"),
                                {"file": rng.from_pos.file, "pos": rng.from_pos.pos}).scalar()
    finally:
        engine.dispose()
    if gtid is None:
        raise ReplayRangeError(f"--from-pos {rng.from_pos} is not the start of a transaction")
    return str(gtid)


def _reached(commit_state: str | None, end: Mapping[int, Gtid]) -> bool:
    done = parse_gtid_list(commit_state)
    return all(domain in done and done[domain].seq >= gtid.seq for domain, gtid in end.items())


def _skipped(event: ChangeEvent, rng: BinlogRange) -> bool:
    if before_start(event, rng):
        return True
    if rng.from_gtid is None or event.source.gtid is None:
        return False
    gtid = Gtid.parse(event.source.gtid)
    return gtid.domain == rng.from_gtid.domain and gtid.seq < rng.from_gtid.seq


async def binlog_events(
    settings: Settings, rng: BinlogRange, state: SourceState
) -> AsyncIterator[ChangeEvent]:
    """Events of the range, in binlog order (``state``: :func:`read_source_state`)."""
    if settings.source.flavor != "mariadb":
        raise ReplayRangeError("binlog replay supports MariaDB GTIDs; replay MySQL from Kafka")
    check_binlog_range(rng, state.now, state.files, parse_gtid_list(state.oldest_gtid))
    shapes: Mapping[str, TableShape] = catalog.build_shapes(settings, state.columns)
    start = start_state(settings, rng, state)
    end = parse_gtid_list(state.end_gtid)
    if _reached(start, end):
        return
    epoch = await asyncio.to_thread(_epoch, settings)
    out: queue.Queue[list[Emit | Commit] | BaseException] = queue.Queue(maxsize=8)
    reader = BinlogReader(
        dsn=settings.source.dsn, flavor=settings.source.flavor,
        replica_id=replica_id(settings.source.server_id),
        start=Position(start or None, state.files[0][0], 4), shapes=lambda: shapes,
        refresh_shapes=lambda: None, identity=SourceIdentity(state.server_id, None, epoch),
        partitions=settings.kafka.partitions, out=out,
        heartbeat_s=settings.source.heartbeat_interval_ms / 1000,
    )
    thread = threading.Thread(target=reader.run, name="replay-binlog-reader", daemon=True)
    thread.start()
    log.info("replaying the binlog after GTID %s up to %s", start or "(start)",
             state.end_gtid or "(end)")
    try:
        while True:
            try:
                item = await asyncio.to_thread(out.get, True, POLL_S)
            except queue.Empty:
                continue
            if isinstance(item, BaseException):
                raise item
            for entry in item:
                if isinstance(entry, Commit):
                    if _reached(entry.position.gtid, end):
                        return
                    continue
                event = decode_event(entry.value)
                if past_end(event, rng):
                    return
                if not _skipped(event, rng):
                    yield event
    finally:
        reader.stop()
        await asyncio.to_thread(thread.join, 10)


def _epoch(settings: Settings) -> int:
    engine = db.engine_for(settings)
    try:
        return source_epoch(engine, settings.source.name)
    finally:
        engine.dispose()
