"""A consistent read snapshot of the source and the binlog position it corresponds to.

MariaDB (what the tests run): ``START TRANSACTION WITH CONSISTENT SNAPSHOT`` and then, in the
same session, ``SHOW STATUS LIKE 'binlog_snapshot%'``: ``Binlog_snapshot_file`` and
``Binlog_snapshot_position`` are the binlog coordinates of exactly that snapshot (MariaDB
takes the snapshot and the position under the binlog's commit lock). The GTID position is
``BINLOG_GTID_POS(file, pos)``, which maps that same coordinate to GTIDs (``@@gtid_binlog_pos``
would be the *current* position, possibly after the snapshot).

MySQL 8 has no ``binlog_snapshot`` status. The position is made consistent the way
``mysqldump --single-transaction --source-data`` does it: ``FLUSH TABLES WITH READ LOCK``
(blocks commits; needs ``RELOAD``), ``START TRANSACTION WITH CONSISTENT SNAPSHOT``, read
``performance_schema.log_status`` (``LOCAL`` → ``binary_log_file``, ``binary_log_position``,
``gtid_executed``; needs ``BACKUP_ADMIN``), then ``UNLOCK TABLES``, which keeps the
transaction and its snapshot. The lock is held for milliseconds, but it waits for running
statements to finish, so schedule it off-peak on a busy primary. (Not testable here.)
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa

from schemas.versions import binlog_file_index, snapshot_version

log = logging.getLogger(__name__)


class SnapshotError(RuntimeError):
    """The source cannot give a consistent snapshot with a binlog position."""


@dataclass(frozen=True, slots=True)
class SnapshotPosition:
    file: str
    pos: int
    gtid: str | None
    epoch: int
    version: str = field(init=False)
    """The snapshot version V(P) of :mod:`schemas.versions`."""

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "version", snapshot_version(self.epoch, binlog_file_index(self.file), self.pos)
        )

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "pos": self.pos, "gtid": self.gtid, "epoch": self.epoch,
                "version": self.version}


def begin_snapshot(
    conn: sa.Connection, flavor: Literal["mariadb", "mysql"], epoch: int
) -> SnapshotPosition:
    """Start the snapshot transaction on ``conn`` (which must be fresh) and return its position."""
    if flavor == "mariadb":
        return _mariadb(conn, epoch)
    return _mysql(conn, epoch)


def _mariadb(conn: sa.Connection, epoch: int) -> SnapshotPosition:
    _utc(conn)
    conn.exec_driver_sql("START TRANSACTION WITH CONSISTENT SNAPSHOT")
    status: dict[str, str] = dict(conn.execute(sa.text("SHOW STATUS LIKE :name"),
                               {"name": "binlog_snapshot%"}).all())
    file = status.get("Binlog_snapshot_file") or ""
    pos = int(status.get("Binlog_snapshot_position") or 0)
    if not file:
        raise SnapshotError("the source has no binary log (log_bin is off)")
    gtid = conn.execute(sa.text("SELECT BINLOG_GTID_POS(:file, :pos)"),
                        {"file": file, "pos": pos}).scalar()
    return SnapshotPosition(file, pos, str(gtid) if gtid else None, epoch)


def _utc(conn: sa.Connection) -> None:
    """TIMESTAMP columns read as UTC, as the CDC worker decodes them (``cdc.worker.use_utc``)."""
    conn.exec_driver_sql("SET SESSION time_zone = '+00:00'")


def _mysql(conn: sa.Connection, epoch: int) -> SnapshotPosition:
    _utc(conn)
    conn.exec_driver_sql("FLUSH TABLES WITH READ LOCK")
    try:
        conn.exec_driver_sql("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        local = conn.exec_driver_sql("SELECT LOCAL FROM performance_schema.log_status").scalar()
    finally:
        conn.exec_driver_sql("UNLOCK TABLES")
    status: object = json.loads(local) if isinstance(local, str | bytes) else local
    if not isinstance(status, dict) or not status.get("binary_log_file"):
        raise SnapshotError("performance_schema.log_status has no binary log position")
    return SnapshotPosition(str(status["binary_log_file"]), int(status["binary_log_position"]),
                            status.get("gtid_executed"), epoch)
