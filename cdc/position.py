"""Where the CDC worker is: positions, the GTID state, and which sends Kafka acknowledged.

The resume contract: the checkpoint saved in the ``positions`` table is the position after
the last row change Kafka acknowledged, written as

- ``gtid``: the GTID state after the last transaction that was delivered completely, and
- ``row_index``: how many row changes (of configured tables) of the *next* transaction
  were delivered too.

A restart streams from ``gtid`` and skips the first ``row_index`` row changes of the first
transaction, so a crash inside a large transaction neither loses it nor starts it over.
The worker writes the checkpoint only after Kafka acknowledged everything up to it, every
200 ms while it moves; it moves publish by publish (a publish holds one or more reader
batches of up to 1,000 row changes each, see :mod:`cdc.publish`). Sends acknowledged
after the checkpoint was written are delivered again: at-least-once, and the consumers'
fence turns the duplicates into no-ops.
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


class GtidState:
    """The GTID state of a stream after its last complete transaction, kept parsed: the
    reader asks it twice per transaction (re-parsing the text each time was a fifth of its
    time on single-row transactions).

    MariaDB keeps one ``domain-server-seq`` per replication domain; MySQL keeps a GTID set
    (``uuid:1-100,...``), to which a transaction's ``uuid:n`` is added.
    """

    def __init__(self, text: str | None, flavor: Flavor) -> None:
        self._flavor = flavor
        self.text = text or None
        """The state as the source writes it (None: empty)."""
        self._domains: dict[str, tuple[int, str]] = {}
        if flavor == "mariadb":
            for part in (text or "").split(","):
                if part.strip():
                    gtid = part.strip()
                    domain, seq = _mariadb_gtid(gtid)
                    self._domains[domain] = (seq, gtid)

    def contains(self, gtid: str) -> bool:
        """Whether transaction ``gtid`` is already part of the state."""
        if self.text is None:
            return False
        if self._flavor == "mariadb":
            domain, seq = _mariadb_gtid(gtid)
            done = self._domains.get(domain)
            return done is not None and seq <= done[0]
        from pymysqlreplication.gtid import Gtid, GtidSet  # noqa: PLC0415 - MySQL only

        return Gtid(gtid) in GtidSet(self.text)

    def advance(self, gtid: str) -> str:
        """Add transaction ``gtid`` (now complete); the new state's text."""
        if self._flavor == "mariadb":
            domain, seq = _mariadb_gtid(gtid)
            domains = self._domains
            domains[domain] = (seq, gtid)
            self.text = gtid if len(domains) == 1 else ",".join(
                domains[key][1] for key in sorted(domains, key=int))
        else:
            from pymysqlreplication.gtid import Gtid, GtidSet  # noqa: PLC0415 - MySQL only

            self.text = str(GtidSet(self.text or "") + Gtid(gtid))
        return self.text


def _mariadb_gtid(gtid: str) -> tuple[str, int]:
    """(domain, sequence number) of a MariaDB GTID."""
    domain, _, rest = gtid.partition("-")
    server, _, seq = rest.partition("-")
    if not (domain.isdigit() and server.isdigit() and seq.isdigit()):
        raise ValueError(f"{gtid!r} is not a MariaDB GTID (domain-server-seq)")
    return domain, int(seq)


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
        self._gtids = GtidState(start.gtid, flavor)
        self.gtid: str | None = None
        """GTID of the open transaction, None between transactions."""
        self.row_index = 0
        """Row changes of the open transaction seen so far (skipped ones included)."""
        self._skip = start.row_index
        self._explicit = False

    @property
    def state(self) -> str | None:
        """GTID state after the last complete transaction."""
        return self._gtids.text

    def begin(self, gtid: str, *, explicit: bool) -> None:
        """A GTID event opened transaction ``gtid``; raises :class:`StreamRewound` if the
        state already holds it.

        ``explicit``: a COMMIT or XID event will end it (MariaDB: the GTID event lacks
        ``FL_STANDALONE``). MySQL learns that from a following ``BEGIN`` (see :meth:`query`).
        """
        if self._gtids.contains(gtid):
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
        state = self._gtids.advance(self.gtid)
        self.gtid = None
        self.row_index = 0
        self._skip = 0
        self._explicit = False
        return state


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
