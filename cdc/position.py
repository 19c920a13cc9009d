"""Where the CDC worker is: positions, the GTID state, and which sends Kafka acknowledged.

The resume contract: the checkpoint saved in the ``positions`` table is the position after
the last row change Kafka acknowledged, written as

- ``gtid``: the GTID state after the last transaction that was delivered completely, and
- ``row_index``: how many row changes (of configured tables) of the *next* transaction
  were delivered too.

A restart streams from ``gtid`` and skips the first ``row_index`` row changes of the first
transaction, so a crash inside a large transaction neither loses it nor starts it over.
Sends acknowledged after the checkpoint was written are delivered again: at-least-once,
and the consumers' fence turns the duplicates into no-ops.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Flavor = Literal["mariadb", "mysql"]


@dataclass(frozen=True, slots=True)
class Position:
    gtid: str | None
    """GTID state after the last complete transaction; None: from the current binlog end."""
    file: str
    """Binlog file of the next transaction (informational; resume uses the GTID)."""
    pos: int
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


def gtid_seq(gtid: str) -> tuple[int, int]:
    """(domain, sequence) of a MariaDB GTID, to notice a stream that went backwards."""
    domain, _, seq = gtid.split("-")
    return int(domain), int(seq)


class AckTracker:
    """Sends in emit order; the checkpoint is the position after the oldest unacked one.

    Each entry is a done-check and the position that holds once it (and every entry before
    it) is done. Commits push entries that are done at once, so transactions without a
    configured row still move the checkpoint.
    """

    def __init__(self, start: Position) -> None:
        self._entries: deque[tuple[Callable[[], bool] | None, Position]] = deque()
        self.acked = start

    def __len__(self) -> int:
        return len(self._entries)

    def push(self, done: Callable[[], bool] | None, position: Position) -> None:
        self._entries.append((done, position))

    def advance(self) -> Position:
        """Drop the acknowledged prefix; the position after it."""
        entries = self._entries
        while entries:
            done, position = entries[0]
            if done is not None and not done():
                break
            entries.popleft()
            self.acked = position
        return self.acked
