"""One partition's batch → cache actions and poison records: pure, no I/O.

A batch is a run of consecutive records of one partition. Planning decodes each record,
decides its actions under its table's rule and coalesces them to the newest action per
cache key. Records that cannot be applied become :class:`Poison`: they go to the
dead-letter topic with their error and position, and the tombstones that can still be
derived for them are written instead of a partial value. Nothing is dropped silently: every
record of the batch is either planned or poison, and the batch's offset is committed only
after both have been handled.

What is derivable for a poison record:

- undecodable payload, unknown ``schema_version``: nothing (the envelope cannot be trusted,
  and a tombstone needs a trusted version);
- table not in the configuration: nothing (there is no key template);
- a malformed version: nothing (the fence cannot order it);
- a cache key whose column is missing or NULL: tombstones for the templates that do
  render, at the event's version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from consumers import _plan
from consumers.decide import CompiledRule, DecisionError, Target, row_commit_time, targets
from schemas.actions import CacheAction
from schemas.events import ChangeEvent, CodecError, RowImage, decode_event
from schemas.values import encode_sorted


class KafkaRecord(Protocol):
    """The part of a Kafka record the plan needs (aiokafka's ``ConsumerRecord`` has it)."""

    @property
    def topic(self) -> str: ...

    @property
    def partition(self) -> int: ...

    @property
    def offset(self) -> int: ...

    @property
    def key(self) -> bytes | None: ...

    @property
    def value(self) -> bytes | None: ...


@dataclass(frozen=True, slots=True)
class Record:
    """A Kafka record (tests, tools)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class Poison:
    """A record that cannot be applied: it goes to the dead-letter topic."""

    record: KafkaRecord
    error: str
    invalidate: Sequence[CacheAction] = ()
    """Tombstones for the record's keys, where they can be derived."""


class Origin(NamedTuple):
    """Where a planned action came from, to dead-letter it if the store refuses it."""

    record: KafkaRecord
    tombstone_ttl_seconds: int


@dataclass(slots=True)
class Plan:
    """What to do for one batch of one partition."""

    next_offset: int
    """Offset to commit once the actions are applied and the poison dead-lettered."""
    actions: list[CacheAction] = field(default_factory=list)
    """Coalesced: one action per cache key, the newest."""
    keys: list[str] = field(default_factory=list)
    """The actions' keys, in order."""
    packed: list[bytes] = field(default_factory=list)
    """The actions as the fence script's arguments (:func:`consumers.store.pack`), in order."""
    poison: list[Poison] = field(default_factory=list)
    origins: dict[str, Origin] = field(default_factory=dict)
    """cache key → the record its (newest) action came from."""
    row_commit_s: list[float] = field(default_factory=list)
    """Commit times (seconds since the epoch) of the planned events whose after image holds
    their table's ``commit_time_column`` (microsecond resolution)."""
    binlog_commit_s: list[float] = field(default_factory=list)
    """Binlog commit times (whole seconds) of the other planned events (deletes, tables
    without a ``commit_time_column``)."""


def _decide_one(record: KafkaRecord, rules: Mapping[str, CompiledRule], plan: Plan
                ) -> tuple[ChangeEvent, CompiledRule, RowImage, list[Target]] | None:
    """One record's event, rule, row and targets, its commit time added to the plan; or None
    when it is poison (added to the plan's poison)."""
    try:
        event = decode_event(record.value or b"")
    except CodecError as exc:
        plan.poison.append(Poison(record, str(exc)))
        return None
    rule = rules.get(event.table)
    if rule is None:
        plan.poison.append(Poison(record, f"table {event.table!r} is not configured"))
        return None
    try:
        found = targets(event, rule)
    except DecisionError as exc:
        plan.poison.append(Poison(record, str(exc), exc.derivable))
        return None
    committed = row_commit_time(event.after, rule.commit_time_column)
    if committed is not None:
        plan.row_commit_s.append(committed)
    else:
        plan.binlog_commit_s.append(event.source.ts_ms / 1000)
    return event, rule, event.row, found


_plan.setup(decode_event, _decide_one, row_commit_time, encode_sorted, CacheAction, Origin)


def plan_batch(records: Sequence[KafkaRecord], rules: dict[str, CompiledRule], *,
               compiled: bool = True) -> Plan:
    """Decode, decide and coalesce consecutive records of one partition (non-empty).

    ``consumers/_plan.c`` decides the usual records itself and hands every other one to
    :func:`_decide_one` (all of them when ``compiled`` is false, as the tests compare);
    either way the actions are coalesced to the newest per cache key, in the order their
    keys first appear (of equal versions the first, as the fence keeps the first to land),
    and only the winners' values are encoded.

    Coalescing is safe because the fence makes the older actions no-ops once the newest has
    landed; the versions are equal-length lowercase hex (checked by
    :func:`consumers.decide.targets`), so comparing them as strings is numeric order.
    """
    plan = Plan(next_offset=records[-1].offset + 1)
    _plan.plan(records if isinstance(records, list) else list(records), rules, plan, compiled)
    return plan


def dead_letter_headers(poison: Poison, regions: str, group: str) -> list[tuple[str, bytes]]:
    """Kafka headers of a dead letter: the error and where the record came from."""
    record = poison.record
    return [
        ("cachesync.error", poison.error.encode()),
        ("cachesync.topic", record.topic.encode()),
        ("cachesync.partition", str(record.partition).encode()),
        ("cachesync.offset", str(record.offset).encode()),
        ("cachesync.region", regions.encode()),
        ("cachesync.group", group.encode()),
        ("cachesync.invalidate", ",".join(a.key for a in poison.invalidate).encode()),
    ]
