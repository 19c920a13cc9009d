"""Turning one polled batch into cache actions, poison records and offsets: pure, no I/O.

Offsets: a partition's commit offset is the offset after the last record of the batch.
The worker commits it only after every region it writes acknowledged the batch's actions,
so a crash re-delivers at most the unacknowledged batch, whose actions are then fenced
duplicates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from consumers.decide import DecisionError, coalesce, decide
from schemas.actions import CacheAction
from schemas.config import TableConfig
from schemas.events import ChangeEvent, CodecError, decode_event


@dataclass(frozen=True, slots=True)
class Record:
    """The part of a Kafka record the plan needs."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


@dataclass(frozen=True, slots=True)
class Poison:
    """A record that cannot be applied: it goes to the dead-letter topic."""

    record: Record
    error: str
    invalidate: Sequence[CacheAction] = ()
    """Tombstones for the record's keys, where they can be derived."""


@dataclass(slots=True)
class Plan:
    actions: list[CacheAction] = field(default_factory=list)
    poison: list[Poison] = field(default_factory=list)
    events: list[ChangeEvent] = field(default_factory=list)
    commit: dict[int, int] = field(default_factory=dict)
    """partition → offset to commit once the actions are applied."""
    sources: dict[str, Record] = field(default_factory=dict)
    """cache key → the record its (newest) action came from, for dead-lettering."""


def plan_batch(records: Sequence[Record], rules: Mapping[str, TableConfig]) -> Plan:
    """Decode, decide and coalesce a batch; in-order per partition as received."""
    plan = Plan()
    decided: list[CacheAction] = []
    origin: dict[int, Record] = {}
    for record in records:
        plan.commit[record.partition] = record.offset + 1
        try:
            event = decode_event(record.value)
        except CodecError as exc:
            plan.poison.append(Poison(record, str(exc)))
            continue
        rule = rules.get(event.table)
        if rule is None:
            plan.poison.append(Poison(record, f"table {event.table!r} is not configured"))
            continue
        try:
            actions = decide(event, rule)
        except DecisionError as exc:
            plan.poison.append(Poison(record, str(exc)))
            continue
        decided += actions
        origin.update((id(action), record) for action in actions)
        plan.events.append(event)
    plan.actions = coalesce(decided)
    plan.sources = {action.key: origin[id(action)] for action in plan.actions}
    return plan
