"""Replay: ranges, range checks, filters and the planned actions: pure, no I/O.

A replay re-drives the consumers' decisions (``decide(event, rule)``) for a range of change
events, from the binlog or from the Kafka topic, through the same fenced store. Every action
carries the event's version, so a replay can only move an entry forward to a state the
source really had, and running it twice leaves the same state (the second run is all
duplicates to the fence).

``--mode`` overrides the table's configured action: ``invalidate`` writes versioned
tombstones (the safe choice when the projection itself is suspect), ``rewrite`` stores the
projected row (what restores a flushed region without a thundering herd on the DB).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from schemas.actions import CacheAction
from schemas.config import TableConfig
from schemas.events import ChangeEvent

ReplayMode = Literal["invalidate", "rewrite"]
Decide = Callable[[ChangeEvent, TableConfig], list[CacheAction]]

_GTID = re.compile(r"^(\d+)-(\d+)-(\d+)$")


class ReplayRangeError(ValueError):
    """The range cannot be replayed: malformed, in the future, or no longer held."""


@dataclass(frozen=True, slots=True, order=True)
class BinlogCoordinate:
    """A binlog file and a position in it (``mariadb-bin.000042:1234``)."""

    file: str
    pos: int

    @classmethod
    def parse(cls, text: str) -> BinlogCoordinate:
        file, sep, pos = text.rpartition(":")
        if not sep or not file or not pos.isdigit():
            raise ReplayRangeError(f"{text!r} is not FILE:POS (e.g. mariadb-bin.000042:1234)")
        return cls(file, int(pos))

    def __str__(self) -> str:
        return f"{self.file}:{self.pos}"


@dataclass(frozen=True, slots=True, order=True)
class Gtid:
    """A MariaDB GTID ``domain-server-seq``; ordered by (domain, seq) within one domain."""

    domain: int
    seq: int
    server: int

    @classmethod
    def parse(cls, text: str) -> Gtid:
        match = _GTID.match(text.strip())
        if match is None:
            raise ReplayRangeError(
                f"{text!r} is not a MariaDB GTID domain-server-seq (e.g. 0-1-101)"
            )
        domain, server, seq = (int(part) for part in match.groups())
        return cls(domain, seq, server)

    def __str__(self) -> str:
        return f"{self.domain}-{self.server}-{self.seq}"


def parse_gtid_list(text: str | None) -> dict[int, Gtid]:
    """A GTID position such as ``0-1-100,1-2-7`` by domain (empty text: no GTIDs)."""
    result: dict[int, Gtid] = {}
    for part in (text or "").split(","):
        if part.strip():
            gtid = Gtid.parse(part)
            result[gtid.domain] = gtid
    return result


def parse_time(text: str) -> dt.datetime:
    """ISO-8601 (naive means UTC) or Unix seconds, as an aware UTC datetime."""
    try:
        return dt.datetime.fromtimestamp(float(text), dt.UTC)
    except ValueError:
        pass
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ReplayRangeError(
            f"{text!r} is not a time (ISO-8601 such as 2026-11-23T05:00:00Z, or Unix seconds)"
        ) from None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class BinlogRange:
    """Where a binlog replay starts and stops; every bound is optional but the start."""

    from_gtid: Gtid | None = None
    to_gtid: Gtid | None = None
    from_pos: BinlogCoordinate | None = None
    to_pos: BinlogCoordinate | None = None
    from_time: dt.datetime | None = None
    to_time: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class KafkaRange:
    from_time: dt.datetime | None = None
    to_time: dt.datetime | None = None
    from_offset: int | None = None
    to_offset: int | None = None
    """Offsets apply to every partition of the topic (inclusive bounds)."""


def check_times(start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime) -> None:
    for name, value in (("from", start), ("to", end)):
        if value is not None and value > now:
            raise ReplayRangeError(
                f"--{name}-time {value.isoformat()} is in the future (now is "
                f"{now.isoformat(timespec='seconds')}); omit --to-time to replay up to now"
            )
    if start is not None and end is not None and end < start:
        raise ReplayRangeError("--to-time is before --from-time")


def check_binlog_range(
    rng: BinlogRange,
    now: dt.datetime,
    held_files: list[tuple[str, int]],
    oldest_gtids: Mapping[int, Gtid],
) -> None:
    """Refuse ranges the source no longer holds (or never will).

    ``held_files`` is ``SHOW BINARY LOGS`` (name, size) in order; ``oldest_gtids`` the GTID
    position at the start of the oldest file (``BINLOG_GTID_POS(oldest, 4)``), by domain.
    """
    starts = [bound for bound in (rng.from_gtid, rng.from_pos, rng.from_time) if bound]
    if len(starts) != 1:
        raise ReplayRangeError("give exactly one of --from-gtid, --from-pos, --from-time")
    check_times(rng.from_time, rng.to_time, now)
    if not held_files:
        raise ReplayRangeError("the source has no binary logs")
    sizes = dict(held_files)
    oldest = held_files[0][0]
    for name, coordinate in (("from", rng.from_pos), ("to", rng.to_pos)):
        if coordinate is None:
            continue
        if coordinate.file not in sizes:
            purged = coordinate.file < oldest
            raise ReplayRangeError(
                f"--{name}-pos {coordinate}: binlog file {coordinate.file} "
                + ("was purged" if purged else "does not exist")
                + f"; the source holds {oldest} .. {held_files[-1][0]}"
            )
        if coordinate.pos > sizes[coordinate.file]:
            raise ReplayRangeError(
                f"--{name}-pos {coordinate}: {coordinate.file} is only "
                f"{sizes[coordinate.file]} bytes long"
            )
    if rng.from_pos and rng.to_pos and rng.to_pos < rng.from_pos:
        raise ReplayRangeError("--to-pos is before --from-pos")
    if rng.from_gtid is not None:
        first = oldest_gtids.get(rng.from_gtid.domain)
        if first is not None and rng.from_gtid.seq < first.seq:
            raise ReplayRangeError(
                f"--from-gtid {rng.from_gtid} was purged: the oldest binlog {oldest} starts "
                f"after {first}"
            )
    if rng.from_gtid and rng.to_gtid:
        if rng.to_gtid.domain != rng.from_gtid.domain:
            raise ReplayRangeError("--from-gtid and --to-gtid must be in the same domain")
        if rng.to_gtid.seq < rng.from_gtid.seq:
            raise ReplayRangeError("--to-gtid is before --from-gtid")


def check_kafka_range(rng: KafkaRange, now: dt.datetime) -> None:
    if (rng.from_time is None) == (rng.from_offset is None):
        raise ReplayRangeError("give exactly one of --kafka-from-time, --kafka-from-offset")
    check_times(rng.from_time, rng.to_time, now)
    if rng.from_offset is not None and rng.from_offset < 0:
        raise ReplayRangeError("--kafka-from-offset must be >= 0")
    if rng.from_offset is not None and rng.to_offset is not None \
            and rng.to_offset < rng.from_offset:
        raise ReplayRangeError("--kafka-to-offset is before --kafka-from-offset")


def past_end(event: ChangeEvent, rng: BinlogRange) -> bool:
    """Whether a binlog event lies after the range's end (the replay stops there)."""
    source = event.source
    if rng.to_time is not None and source.ts_ms > rng.to_time.timestamp() * 1000:
        return True
    if rng.to_pos is not None and BinlogCoordinate(source.file, source.pos) > rng.to_pos:
        return True
    if rng.to_gtid is not None and source.gtid is not None:
        gtid = Gtid.parse(source.gtid)
        if gtid.domain == rng.to_gtid.domain and gtid.seq > rng.to_gtid.seq:
            return True
    return False


def before_start(event: ChangeEvent, rng: BinlogRange) -> bool:
    """Whether a binlog event precedes ``--from-time`` (the reader starts at a file's head)."""
    return rng.from_time is not None and event.source.ts_ms < rng.from_time.timestamp() * 1000


@dataclass(frozen=True, slots=True)
class ReplayFilter:
    """Which events and actions a replay re-drives."""

    tables: frozenset[str] | None = None
    keys: frozenset[str] | None = None
    """Partition (user) keys or cache keys; None: all."""

    def accepts_table(self, table: str) -> bool:
        return self.tables is None or table in self.tables


def check_tables(requested: Iterable[str], configured: Collection[str]) -> frozenset[str]:
    wanted = frozenset(requested)
    unknown = sorted(wanted - set(configured))
    if unknown:
        raise ReplayRangeError(
            f"unknown table(s) {', '.join(unknown)}; configured: {', '.join(sorted(configured))}"
        )
    return wanted


def plan_event(
    event: ChangeEvent,
    rules: Mapping[str, TableConfig],
    decide: Decide,
    mode: ReplayMode | None,
    selection: ReplayFilter,
) -> list[CacheAction]:
    """The actions one event re-drives (the same for every region), after the filters."""
    rule = rules.get(event.table)
    if rule is None or not selection.accepts_table(event.table):
        return []
    if mode is not None and rule.action != mode:
        rule = rule.model_copy(update={"action": mode})
    actions = decide(event, rule)
    if selection.keys is None or event.key in selection.keys:
        return actions
    return [action for action in actions if action.key in selection.keys]


def read_keys_file(lines: Iterable[str]) -> set[str]:
    """One key a line; blank lines and ``#`` comments skipped."""
    return {line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")}
