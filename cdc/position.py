"""Where the CDC worker is: positions, the GTID state, and which sends Kafka acknowledged.

The resume contract: the checkpoint saved in the ``positions`` table is the position after
the last row change Kafka acknowledged, written as

- ``gtid``: the GTID state after the last transaction that was delivered completely, and
- ``row_index``: how many row changes (of configured tables) of the *next* transaction
  were delivered too.

A restart streams from ``gtid`` and skips the first ``row_index`` row changes of the first
transaction, so a crash inside a large transaction neither loses it nor starts it over.
The worker writes the checkpoint only after Kafka acknowledged everything up to it, every
200 ms while it moves; it moves batch by batch (a reader batch holds up to 1,000 row
changes). Sends acknowledged after the checkpoint was written are delivered again:
at-least-once, and the consumers' fence turns the duplicates into no-ops.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Literal, NamedTuple

Flavor = Literal["mariadb", "mysql"]


class Position(NamedTuple):
    """A resume point. A tuple: one is made per published row, and tuples are cheap to
    build and to pickle across the reader process's queue."""

    gtid: str | None
    """GTID state after the last complete transaction; None: from the current binlog end."""
    file: str
    """Binlog file of the next transaction (informational; resume uses the GTID)."""
    pos: int
    """Position of the next transaction in ``file`` (informational)."""
    row_index: int = 0
    """Row changes of the next transaction already delivered."""


def advance_gtid(state: str | None, gtid: str, flavor: Flavor) -> str:
    """The GTID state once transaction ``gtid`` is complete.

    MariaDB keeps one ``domain-server-seq`` per replication domain; MySQL keeps a GTID set
    (``uuid:1-100,...``), to which the transaction's ``uuid:n`` is added.
    """
    if flavor == "mariadb":
        domains = dict(_mariadb_domain(part) for part in (state or "").split(",") if part)
        domain, _ = _mariadb_domain(gtid)
        domains[domain] = gtid
        return ",".join(domains[key] for key in sorted(domains, key=int))
    from pymysqlreplication.gtid import Gtid, GtidSet  # noqa: PLC0415 - MySQL only

    return str(GtidSet(state or "") + Gtid(gtid))


def _mariadb_domain(gtid: str) -> tuple[str, str]:
    parts = gtid.strip().split("-")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        raise ValueError(f"{gtid!r} is not a MariaDB GTID (domain-server-seq)")
    return parts[0], gtid.strip()


def gtid_contained(state: str | None, gtid: str, flavor: Flavor) -> bool:
    """Whether transaction ``gtid`` is already part of the GTID ``state``."""
    if not state:
        return False
    if flavor == "mariadb":
        domain, _ = _mariadb_domain(gtid)
        done = dict(_mariadb_domain(part) for part in state.split(",") if part).get(domain)
        return done is not None and _mariadb_seq(gtid) <= _mariadb_seq(done)
    from pymysqlreplication.gtid import Gtid, GtidSet  # noqa: PLC0415 - MySQL only

    return Gtid(gtid) in GtidSet(state)


def _mariadb_seq(gtid: str) -> int:
    return int(gtid.rsplit("-", 1)[1])


class SourceIdentity(NamedTuple):
    """Which server wrote the binlog being streamed, and the failover epoch it belongs to."""

    server_id: int
    """``@@server_id`` (MariaDB's identity: its GTIDs carry it too)."""
    server_uuid: str | None
    """``@@server_uuid`` on MySQL; None on MariaDB, which has none."""
    epoch: int
    """Increases each time the identity changes, so versions of the new server's binlog
    (whose file:pos are not comparable with the old one's) order after the old ones."""

    def now(self, server_id: int, server_uuid: str | None) -> SourceIdentity:
        """The identity once the source reports ``server_id``/``server_uuid``: the same,
        or, when the server is another one (a failover, maybe behind the same address),
        the new server in the next epoch."""
        if (server_id, server_uuid) == (self.server_id, self.server_uuid):
            return self
        return SourceIdentity(server_id, server_uuid, self.epoch + 1)


class StreamRewound(RuntimeError):
    """The stream went back to a transaction already delivered (the library reconnected on
    its own from its original position): reopen from the checkpoint instead."""


class TxnCursor:
    """Transaction boundaries and row indexes of a stream that starts at ``start``.

    Row indexes number the row changes of *configured* tables inside a transaction from 1
    (rows of other tables never reach the worker: the reader filters them). The first
    transaction after ``start`` skips its first ``start.row_index`` rows: they were
    delivered before the restart. Pure: the reader feeds it events, it answers.
    """

    def __init__(self, start: Position, flavor: Flavor) -> None:
        self._flavor = flavor
        self.state = start.gtid
        """GTID state after the last complete transaction."""
        self.gtid: str | None = None
        """GTID of the open transaction, None between transactions."""
        self.row_index = 0
        """Row changes of the open transaction seen so far (skipped ones included)."""
        self._skip = start.row_index
        self._explicit = False

    def begin(self, gtid: str, *, explicit: bool) -> None:
        """A GTID event opened transaction ``gtid``; raises :class:`StreamRewound` if the
        state already holds it.

        ``explicit``: a COMMIT or XID event will end it (MariaDB: the GTID event lacks
        ``FL_STANDALONE``). MySQL learns that from a following ``BEGIN`` (see :meth:`query`).
        """
        if gtid_contained(self.state, gtid, self._flavor):
            raise StreamRewound(f"the binlog stream went back to {gtid} (state {self.state})")
        self.gtid = gtid
        self.row_index = 0
        self._explicit = explicit

    def row(self) -> int:
        """Index of the next row change of the open transaction; 0: skip it (delivered
        before the restart, or outside any transaction at the start of a resumed stream)."""
        if self.gtid is None:
            return 0
        self.row_index += 1
        if self._skip:
            self._skip -= 1
            return 0
        return self.row_index

    def query(self, sql: str) -> str | None:
        """A query event: the new GTID state if it ends the open transaction, else None.

        ``BEGIN`` opens an explicit transaction, which only ``COMMIT`` or ``ROLLBACK`` ends
        (``SAVEPOINT`` and ``ROLLBACK TO`` are logged inside it); any other statement
        outside an explicit transaction (DDL) is a transaction by itself.
        """
        words = sql.split(None, 2)
        head = words[0].upper() if words else ""
        if head == "BEGIN":
            self._explicit = True
            return None
        if self._explicit:
            ends = head == "COMMIT" or (
                head == "ROLLBACK" and (len(words) < 2 or words[1].upper() != "TO"))
            if not ends:
                return None
        return self.commit()

    def commit(self) -> str | None:
        """The open transaction is complete (XID event, or see :meth:`query`): the new GTID
        state; None when no transaction was open."""
        if self.gtid is None:
            return None
        self.state = advance_gtid(self.state, self.gtid, self._flavor)
        self.gtid = None
        self.row_index = 0
        self._skip = 0
        self._explicit = False
        return self.state


class AckTracker:
    """Sends in emit order; the checkpoint is the position after the oldest unacked one.

    Each entry is a done-check (for one send or a batch of sends) and the position that
    holds once it and every entry before it are done. Entries without a check (commits of
    transactions without configured rows) are done at once, so those still move the
    checkpoint.
    """

    def __init__(self, start: Position) -> None:
        self._entries: deque[tuple[Callable[[], bool] | None, Position, int]] = deque()
        self.acked = start
        self.acked_sends = 0
        """Sends acknowledged so far."""

    def __len__(self) -> int:
        return len(self._entries)

    def push(self, done: Callable[[], bool] | None, position: Position, sends: int = 1
             ) -> None:
        """``sends``: how many sends ``done`` covers."""
        self._entries.append((done, position, sends if done is not None else 0))

    def advance(self) -> Position:
        """Drop the acknowledged prefix; the position after it."""
        entries = self._entries
        while entries:
            done, position, sends = entries[0]
            if done is not None and not done():
                break
            entries.popleft()
            self.acked = position
            self.acked_sends += sends
        return self.acked
