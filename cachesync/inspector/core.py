"""The consistency inspector's decisions: sampling, scheduling, verdicts, nines: pure, no I/O.

Theory of operation (Meta's Polaris, measured from the outside)
---------------------------------------------------------------
The inspector tails the change topic in a consumer group of its own and samples events. For
a sampled event received at ``t0`` it schedules one probe per window ``M``: at ``t0 + M``
every region is read for every cache key the event writes. Like Polaris, ``t0`` is when the
inspector *received* the event, not the source commit: a lagging inspector measures
generously, never harshly.

A region's entry for a key is judged by :data:`CACHE_RULES`, the whole policy:

================================  ==============  ========================================
entry                             verdict         why
================================  ==============  ========================================
none                              ``miss``        a read goes to the DB: safe
version >= the event's            ``consistent``  the write (or a newer one) landed
tombstone, older version          ``miss``        reads as a miss: safe
value, older version               ``suspect``     re-check the DB before counting it
value, malformed version          ``suspect``     (same: a foreign write)
================================  ==============  ========================================

A suspect is compared with the DB as it is *now* (:func:`db_verdict`): if the entry holds
exactly the value the current row projects to (an application fill with an old or no
version, an update that changed nothing the cache holds), it is ``equal`` and not counted as
an inconsistency; if it holds anything else, or the row is gone, it is ``inconsistent``: a
reader of that region gets data the DB no longer has, at least ``M`` seconds after the
change was published. No false alarms, as Polaris requires.

Nines: with ``c`` checks and ``i`` inconsistencies the consistent fraction is ``1 - i/c``,
i.e. ``-log10(i/c)`` nines. Zero failures do not mean infinite nines: by the rule of three,
zero failures in ``N`` checks bound the failure rate below ``3/N`` at 95% confidence, so a
sample of ``N`` supports at most ``log10(N/3)`` nines (:func:`nines_supported`).
"""

from __future__ import annotations

import hashlib
import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final

from consumers.decide import VERSION_PATTERN
from schemas.actions import CacheEntry


class Verdict(Enum):
    """What one region holds for one cache key of a sampled event, ``M`` seconds later."""

    CONSISTENT = "consistent"
    MISS = "miss"
    SUSPECT = "suspect"
    """Only before the DB re-check; it becomes ``equal`` or ``inconsistent``."""
    EQUAL = "equal"
    """An older version holding the DB's current value: not an inconsistency."""
    INCONSISTENT = "inconsistent"


class EntryShape(Enum):
    NONE = "none"
    NEWER_OR_SAME = "newer_or_same"
    OLDER_TOMBSTONE = "older_tombstone"
    OLDER_VALUE = "older_value"
    MALFORMED_VERSION = "malformed_version"


CACHE_RULES: Final[dict[EntryShape, Verdict]] = {
    EntryShape.NONE: Verdict.MISS,
    EntryShape.NEWER_OR_SAME: Verdict.CONSISTENT,
    EntryShape.OLDER_TOMBSTONE: Verdict.MISS,
    EntryShape.OLDER_VALUE: Verdict.SUSPECT,
    EntryShape.MALFORMED_VERSION: Verdict.SUSPECT,
}


def entry_shape(event_version: str, entry: CacheEntry | None) -> EntryShape:
    if entry is None:
        return EntryShape.NONE
    if VERSION_PATTERN.fullmatch(entry.version) is None:
        return EntryShape.MALFORMED_VERSION
    # Equal-width lowercase hex: string order is version order.
    if entry.version >= event_version:
        return EntryShape.NEWER_OR_SAME
    return EntryShape.OLDER_TOMBSTONE if entry.is_tombstone else EntryShape.OLDER_VALUE


def cache_verdict(event_version: str, entry: CacheEntry | None) -> Verdict:
    """The verdict on an entry from the cache alone (see :data:`CACHE_RULES`)."""
    return CACHE_RULES[entry_shape(event_version, entry)]


def db_verdict(entry: CacheEntry, current: bytes | None) -> Verdict:
    """A suspect entry against the DB now: ``current`` is the value the row that renders the
    key projects to now, or None when no row renders it (deleted, or its key moved)."""
    if current is not None and entry.value == current:
        return Verdict.EQUAL
    return Verdict.INCONSISTENT


def sample_point(table: str, key: str, version: str) -> float:
    """Where an event falls in [0, 1): a hash of its identity, so a redelivered event and
    every inspector with the same rate make the same choice."""
    digest = hashlib.blake2b(f"{table}\0{key}\0{version}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def is_sampled(rate: float, table: str, key: str, version: str) -> bool:
    return rate >= 1 or (rate > 0 and sample_point(table, key, version) < rate)


@dataclass(frozen=True, slots=True)
class Sample:
    """One sampled change event and the cache keys it writes."""

    table: str
    pk: Mapping[str, Any]
    version: str
    keys: tuple[str, ...]
    partition: int
    offset: int
    received_at: float
    """Monotonic seconds when the inspector received the event (``t0``)."""


@dataclass(frozen=True, slots=True)
class Probe:
    """The check of one sample at ``t0 + window_s``."""

    due: float
    window_s: float
    sample: Sample


@dataclass(slots=True)
class Schedule:
    """Probes in due order, bounded: a sample that does not fit is refused, not queued.

    Samples arrive in the order they are received, so within a window the probes fall due
    in the order they were added: a queue per window keeps them, in O(1) per probe.
    """

    max_pending: int
    _queues: dict[float, deque[Probe]] = field(default_factory=dict)
    _size: int = 0
    _last_received: float = -math.inf

    def add(self, sample: Sample, windows_s: Sequence[float]) -> bool:
        """Schedule a probe per window; False (nothing scheduled) when full."""
        if sample.received_at < self._last_received:
            raise ValueError(f"samples must come in the order received: {sample.received_at} "
                             f"after {self._last_received}")
        if self._size + len(windows_s) > self.max_pending:
            return False
        self._last_received = sample.received_at
        for window in windows_s:
            queue = self._queues.get(window)
            if queue is None:
                queue = self._queues[window] = deque()
            queue.append(Probe(sample.received_at + window, window, sample))
        self._size += len(windows_s)
        return True

    def pop_due(self, now: float) -> list[Probe]:
        """The probes due by ``now``, window by window, each window's in due order."""
        due: list[Probe] = []
        for queue in self._queues.values():
            while queue and queue[0].due <= now:
                due.append(queue.popleft())
        self._size -= len(due)
        return due

    def next_due(self) -> float | None:
        return min((queue[0].due for queue in self._queues.values() if queue), default=None)

    def __len__(self) -> int:
        return self._size


PROBE_ROUND_S: Final = 0.05
"""Probes run in rounds at most this often; a round checks every probe due before the next
round could start, with one read per region for all of them, so each probe runs up to this
much before its window ends (stricter, never lenient) unless the process is starved."""
IDLE_WAKE_S: Final = 0.1
"""With nothing scheduled, the probe loop still looks this often (to notice the end)."""


def next_round_at(started: float, next_due: float | None) -> float:
    """When the round after the one that ``started`` begins: a round ahead of the next probe
    due, and never sooner than a round after this one."""
    if next_due is None:
        return started + IDLE_WAKE_S
    return max(started + PROBE_ROUND_S, next_due - PROBE_ROUND_S)


COUNTERS: Final = ("checked", "consistent", "misses", "equal", "inconsistent", "errors")
"""Per region and window. ``checked`` = consistent + misses + equal + inconsistent (one per
cache key per probe); ``errors`` are reads that failed and are in none of them."""

_COUNTER_OF: Final = {
    Verdict.CONSISTENT: "consistent",
    Verdict.MISS: "misses",
    Verdict.EQUAL: "equal",
    Verdict.INCONSISTENT: "inconsistent",
}


def nines(checked: int, inconsistent: int) -> float | None:
    """Measured nines, ``-log10(inconsistent / checked)``; None when nothing failed (see
    :func:`nines_supported`) or nothing was checked."""
    if checked == 0 or inconsistent == 0:
        return None
    return -math.log10(inconsistent / checked)


def nines_supported(checked: int) -> float:
    """The most nines ``checked`` samples can show at 95% confidence (rule of three)."""
    return math.log10(checked / 3) if checked > 3 else 0.0


def window_label(window_s: float) -> str:
    return f"{window_s:g}s"


def summary_line(region: str, window_s: float, counts: Mapping[str, int]) -> str:
    """``region east: 2.7 nines of writes consistent within 1 s (2 inconsistent in 1034)``."""
    checked, bad = counts["checked"], counts["inconsistent"]
    measured = nines(checked, bad)
    if checked == 0:
        return f"region {region}: nothing checked within {window_s:g} s"
    if measured is None:
        return (f"region {region}: >= {nines_supported(checked):.1f} nines of writes "
                f"consistent within {window_s:g} s (0 inconsistent in {checked} checks; "
                f"95% bound from the sample size)")
    return (f"region {region}: {measured:.1f} nines of writes consistent within "
            f"{window_s:g} s ({bad} inconsistent in {checked} checks)")


@dataclass(slots=True)
class Tally:
    """Counts per region and window."""

    regions: Sequence[str]
    windows_s: Sequence[float]
    counts: dict[tuple[str, float], dict[str, int]] = field(init=False)

    def __post_init__(self) -> None:
        self.counts = {(region, window): dict.fromkeys(COUNTERS, 0)
                       for region in self.regions for window in self.windows_s}

    def record(self, region: str, window_s: float, verdict: Verdict, amount: int = 1) -> None:
        if verdict is Verdict.SUSPECT:
            raise ValueError("a suspect must be re-checked against the DB before it counts")
        counts = self.counts[(region, window_s)]
        counts["checked"] += amount
        counts[_COUNTER_OF[verdict]] += amount

    def error(self, region: str, window_s: float, amount: int = 1) -> None:
        self.counts[(region, window_s)]["errors"] += amount

    def to_json(self) -> dict[str, dict[str, dict[str, Any]]]:
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for (region, window), counts in self.counts.items():
            measured = nines(counts["checked"], counts["inconsistent"])
            out.setdefault(region, {})[window_label(window)] = {
                "window_s": window,
                **counts,
                "nines": None if measured is None else round(measured, 3),
                "nines_supported": round(nines_supported(counts["checked"]), 3),
                "summary": summary_line(region, window, counts),
            }
        return out


@dataclass(slots=True)
class Findings:
    """The inconsistencies kept for debugging: the first ``limit``, then only counted."""

    limit: int
    kept: list[dict[str, Any]] = field(default_factory=list)
    dropped: int = 0

    def add(self, context: dict[str, Any]) -> bool:
        """Keep ``context`` if there is room; whether it was kept."""
        if len(self.kept) >= self.limit:
            self.dropped += 1
            return False
        self.kept.append(context)
        return True
