"""Runs and cursors in the engine schema (``reconciler_runs``, ``reconciler_cursors``).

Resume contract: after a chunk's repairs were acknowledged by every region, one engine
transaction stores the chunk's last primary key as the table's cursor *and* the run's
counts so far. A run killed at any point resumes after the last stored cursor; the chunk
in flight is redone, which is harmless (repairs are fenced, counts were not stored yet).

One run at a time: the runner holds a named lock (``GET_LOCK``) on a connection of its own
for its whole life. The server releases it when that connection dies, so a SIGKILLed run
never blocks the next one, and a ``running`` row whose lock is free is a dead run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa

from cachesync.db import positions, reconciler_cursors, reconciler_runs
from reconciler.keyset import decode_cursor, encode_cursor
from reconciler.report import Tally
from reconciler.snapshot import SnapshotPosition

RUNNING: Final = "running"
DONE: Final = "done"
FAILED: Final = "failed"
ABANDONED: Final = "abandoned"
"""A run that ``--restart`` replaced before it finished."""


class RunLockedError(RuntimeError):
    """Another reconcile run holds the lock."""


@dataclass(frozen=True, slots=True)
class Cursor:
    last_pk: tuple[object, ...] | None
    done: bool
    rows_scanned: int


def source_epoch(engine: sa.Engine, source_name: str) -> int:
    """The source's failover epoch from the CDC checkpoint (0 before the first one)."""
    with engine.connect() as conn:
        value = conn.execute(
            sa.select(positions.c.epoch).where(positions.c.source_name == source_name)
        ).scalar()
    return int(value) if value is not None else 0


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class RunStore:
    """The engine-schema side of a run."""

    def __init__(self, engine: sa.Engine, lock_name: str) -> None:
        self._engine = engine
        self._lock_name = lock_name
        self._lock_conn: sa.Connection | None = None

    def lock(self) -> None:
        conn = self._engine.connect()
        got = conn.execute(sa.text("SELECT GET_LOCK(:name, 0)"), {"name": self._lock_name})
        if got.scalar() != 1:
            conn.close()
            raise RunLockedError(f"another reconcile run holds the lock {self._lock_name!r}")
        conn.commit()
        self._lock_conn = conn

    def unlock(self) -> None:
        if self._lock_conn is not None:
            # Closing only returns the connection to the pool, which would keep the lock.
            self._lock_conn.execute(sa.text("SELECT RELEASE_LOCK(:name)"),
                                    {"name": self._lock_name})
            self._lock_conn.close()
            self._lock_conn = None

    def epoch(self, source_name: str) -> int:
        return source_epoch(self._engine, source_name)

    def last_unfinished(self) -> tuple[int, bool, Tally] | None:
        """The newest run that never finished: ``(id, dry_run, counts)``."""
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(reconciler_runs.c.id, reconciler_runs.c.dry_run,
                          reconciler_runs.c.counts)
                .where(reconciler_runs.c.status.in_([RUNNING, FAILED]))
                .order_by(reconciler_runs.c.id.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return int(row.id), bool(row.dry_run), Tally.from_json(row.counts)

    def abandon_unfinished(self) -> int:
        with self._engine.begin() as conn:
            result = conn.execute(
                reconciler_runs.update()
                .where(reconciler_runs.c.status.in_([RUNNING, FAILED]))
                .values(status=ABANDONED, finished_at=_now())
            )
        return int(result.rowcount)

    def start(self, *, dry_run: bool) -> int:
        """Record a new run. Also advances the binlog when the engine schema lives on the
        source, so this run's snapshot position differs from any earlier run's."""
        with self._engine.begin() as conn:
            result = conn.execute(
                reconciler_runs.insert().values(
                    started_at=_now(), status=RUNNING, dry_run=dry_run, counts={"tables": {}}
                )
            )
            key = result.inserted_primary_key
            if key is None:
                raise RuntimeError("the engine did not return the new run's id")
            return int(key[0])

    def reopen(self, run_id: int) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                reconciler_runs.update().where(reconciler_runs.c.id == run_id)
                .values(status=RUNNING, finished_at=None)
            )

    def record_snapshot(self, run_id: int, snapshot: SnapshotPosition) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                reconciler_runs.update().where(reconciler_runs.c.id == run_id).values(
                    snapshot_gtid=snapshot.gtid, snapshot_file=snapshot.file,
                    snapshot_pos=snapshot.pos,
                )
            )

    def cursors(self, run_id: int) -> dict[str, Cursor]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(reconciler_cursors).where(reconciler_cursors.c.run_id == run_id)
            ).all()
        return {
            row.table_name: Cursor(
                decode_cursor(row.last_pk) if row.last_pk is not None else None,
                bool(row.done), int(row.rows_scanned),
            )
            for row in rows
        }

    def save_progress(
        self, run_id: int, table: str, cursor: Cursor, tally: Tally
    ) -> None:
        """Cursor and counts in one transaction (the resume contract above)."""
        values: dict[str, Any] = {
            "last_pk": encode_cursor(cursor.last_pk) if cursor.last_pk is not None else None,
            "done": cursor.done,
            "rows_scanned": cursor.rows_scanned,
            "updated_at": _now(),
        }
        with self._engine.begin() as conn:
            updated = conn.execute(
                reconciler_cursors.update()
                .where(reconciler_cursors.c.run_id == run_id,
                       reconciler_cursors.c.table_name == table)
                .values(**values)
            )
            if updated.rowcount == 0:
                conn.execute(
                    reconciler_cursors.insert().values(run_id=run_id, table_name=table, **values)
                )
            conn.execute(
                reconciler_runs.update().where(reconciler_runs.c.id == run_id)
                .values(counts=tally.to_json())
            )

    def finish(self, run_id: int, status: str, tally: Tally) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                reconciler_runs.update().where(reconciler_runs.c.id == run_id)
                .values(status=status, finished_at=_now(), counts=tally.to_json())
            )
