"""The inspector's pure core: verdicts, sampling, scheduling, nines."""

from __future__ import annotations

import itertools
import math

import pytest

from cachesync.inspector.core import (
    CACHE_RULES,
    IDLE_WAKE_S,
    PROBE_ROUND_S,
    EntryShape,
    Findings,
    Sample,
    Schedule,
    Tally,
    Verdict,
    cache_verdict,
    db_verdict,
    entry_shape,
    is_sampled,
    next_round_at,
    nines,
    nines_supported,
    sample_point,
    summary_line,
)
from schemas.actions import CacheEntry
from schemas.versions import encode_version

V5 = encode_version(5)
OLDER, SAME, NEWER = encode_version(4), V5, encode_version(6)


@pytest.mark.parametrize(("entry", "shape", "verdict"), [
    (None, EntryShape.NONE, Verdict.MISS),
    (CacheEntry(SAME, b"x"), EntryShape.NEWER_OR_SAME, Verdict.CONSISTENT),
    (CacheEntry(NEWER, b"x"), EntryShape.NEWER_OR_SAME, Verdict.CONSISTENT),
    (CacheEntry(SAME, None), EntryShape.NEWER_OR_SAME, Verdict.CONSISTENT),
    (CacheEntry(NEWER, None), EntryShape.NEWER_OR_SAME, Verdict.CONSISTENT),
    (CacheEntry(OLDER, None), EntryShape.OLDER_TOMBSTONE, Verdict.MISS),
    (CacheEntry(OLDER, b"x"), EntryShape.OLDER_VALUE, Verdict.SUSPECT),
    (CacheEntry("0" * 32, b"x"), EntryShape.OLDER_VALUE, Verdict.SUSPECT),
    (CacheEntry("f" * 31, b"x"), EntryShape.MALFORMED_VERSION, Verdict.SUSPECT),
    (CacheEntry("F" * 32, b"x"), EntryShape.MALFORMED_VERSION, Verdict.SUSPECT),
])
def test_cache_verdicts(entry: CacheEntry | None, shape: EntryShape, verdict: Verdict) -> None:
    assert entry_shape(V5, entry) is shape
    assert cache_verdict(V5, entry) is verdict


def test_every_shape_has_a_rule() -> None:
    assert set(CACHE_RULES) == set(EntryShape)


def test_versions_compare_numerically_across_hex_digits() -> None:
    # "a" > "9" as text, and 0xa > 0x9 as numbers: fixed-width lowercase hex agrees.
    assert cache_verdict(encode_version(0xa), CacheEntry(encode_version(0x9), b"x")) \
        is Verdict.SUSPECT
    assert cache_verdict(encode_version(0x9), CacheEntry(encode_version(0xa), b"x")) \
        is Verdict.CONSISTENT


@pytest.mark.parametrize(("entry_value", "current", "verdict"), [
    (b'{"a":1}', b'{"a":1}', Verdict.EQUAL),
    (b'{"a":1}', b'{"a":2}', Verdict.INCONSISTENT),
    (b'{"a":1}', None, Verdict.INCONSISTENT),
])
def test_db_verdicts(entry_value: bytes, current: bytes | None, verdict: Verdict) -> None:
    assert db_verdict(CacheEntry(OLDER, entry_value), current) is verdict


def test_sampling_is_deterministic_and_close_to_the_rate() -> None:
    points = [sample_point("app.t", str(i), encode_version(i)) for i in range(20_000)]
    assert points == [sample_point("app.t", str(i), encode_version(i)) for i in range(20_000)]
    assert all(0 <= p < 1 for p in points)
    share = sum(p < 0.1 for p in points) / len(points)
    assert 0.09 < share < 0.11
    assert all(is_sampled(1.0, "app.t", str(i), encode_version(i)) for i in range(100))
    assert not any(is_sampled(0.0, "app.t", str(i), encode_version(i)) for i in range(100))


def _sample(received_at: float, key: str = "k") -> Sample:
    return Sample("app.t", {"id": 1}, V5, (key,), 0, 0, received_at)


def test_schedule_pops_probes_in_due_order_per_window() -> None:
    schedule = Schedule(max_pending=10)
    assert schedule.add(_sample(100.0, "a"), (1.0, 10.0))
    assert schedule.add(_sample(100.5, "b"), (1.0, 10.0))
    assert schedule.next_due() == 101.0
    assert schedule.pop_due(100.99) == []
    due = schedule.pop_due(101.5)
    assert [(p.sample.keys, p.window_s, p.due) for p in due] == [
        (("a",), 1.0, 101.0), (("b",), 1.0, 101.5)]
    assert len(schedule) == 2
    assert [p.sample.keys for p in schedule.pop_due(1000)] == [("a",), ("b",)]
    assert schedule.next_due() is None


@pytest.mark.parametrize(("started", "next_due", "expected"), [
    (10.0, None, 10.0 + IDLE_WAKE_S),           # nothing scheduled: look again later
    (10.0, 10.01, 10.0 + PROBE_ROUND_S),        # due soon: not before a round has passed
    (10.0, 12.0, 12.0 - PROBE_ROUND_S),         # due later: a round ahead of it
    (10.0, 9.0, 10.0 + PROBE_ROUND_S),          # overdue (starved): the next round
])
def test_next_round(started: float, next_due: float | None, expected: float) -> None:
    assert next_round_at(started, next_due) == pytest.approx(expected)


def test_rounds_run_every_probe_at_most_a_round_early_and_never_late() -> None:
    """The probe loop on an ideal clock: a round pops what is due up to a round ahead."""
    schedule = Schedule(max_pending=10_000)
    received = [i * 0.0137 for i in range(300)]  # arrivals closer together than a round
    for i, at in enumerate(received):
        assert schedule.add(_sample(at, f"k{i}"), (1.0, 10.0))
    now, rounds, ran = 0.0, [], []
    while schedule:
        rounds.append(now)
        ran += [(now, probe) for probe in schedule.pop_due(now + PROBE_ROUND_S)]
        now = next_round_at(now, schedule.next_due())
    assert len(ran) == 600
    assert all(-PROBE_ROUND_S - 1e-9 <= start - probe.due <= 0 for start, probe in ran)
    assert all(b - a >= PROBE_ROUND_S - 1e-9 for a, b in itertools.pairwise(rounds))
    assert len(rounds) < 300  # batched: fewer rounds than probes due at distinct times


def test_schedule_refuses_what_does_not_fit() -> None:
    schedule = Schedule(max_pending=3)
    assert schedule.add(_sample(0.0), (1.0, 10.0))
    assert not schedule.add(_sample(0.0), (1.0, 10.0))
    assert len(schedule) == 2
    assert [p.window_s for p in schedule.pop_due(1.0)] == [1.0]
    assert len(schedule) == 1
    assert schedule.add(_sample(0.5), (1.0, 10.0))  # room again
    assert schedule.next_due() == 1.5


def test_schedule_takes_samples_in_the_order_received_only() -> None:
    schedule = Schedule(max_pending=10)
    assert schedule.add(_sample(5.0), (1.0,))
    with pytest.raises(ValueError, match="order received"):
        schedule.add(_sample(4.0), (1.0,))
    assert len(schedule) == 1


@pytest.mark.parametrize(("checked", "bad", "expected"), [
    (0, 0, None),
    (1000, 0, None),
    (1000, 1, 3.0),
    (1000, 10, 2.0),
    (1000, 1000, 0.0),
    (3, 1, -math.log10(1 / 3)),
])
def test_nines(checked: int, bad: int, expected: float | None) -> None:
    result = nines(checked, bad)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected)


@pytest.mark.parametrize(("checked", "expected"), [
    (0, 0.0), (3, 0.0), (30, 1.0), (3000, 3.0), (300_000, 5.0)])
def test_nines_supported_is_the_rule_of_three(checked: int, expected: float) -> None:
    assert nines_supported(checked) == pytest.approx(expected)


def test_tally_counts_and_reports() -> None:
    tally = Tally(["east", "west"], [1.0, 10.0])
    tally.record("east", 1.0, Verdict.CONSISTENT, 2990)  # a round's checks at once
    for verdict in [Verdict.CONSISTENT] * 7 + [Verdict.MISS, Verdict.EQUAL]:
        tally.record("east", 1.0, verdict)
    tally.record("east", 1.0, Verdict.INCONSISTENT)
    tally.error("west", 10.0, 2)
    report = tally.to_json()
    east = report["east"]["1s"]
    assert {k: east[k] for k in ("checked", "consistent", "misses", "equal", "inconsistent",
                                 "errors")} == {
        "checked": 3000, "consistent": 2997, "misses": 1, "equal": 1, "inconsistent": 1,
        "errors": 0}
    assert east["nines"] == pytest.approx(3.477, abs=1e-3)
    assert east["nines_supported"] == pytest.approx(3.0)
    assert report["west"]["10s"]["errors"] == 2
    assert report["west"]["10s"]["checked"] == 0
    assert report["west"]["10s"]["nines"] is None
    with pytest.raises(ValueError, match="suspect"):
        tally.record("east", 1.0, Verdict.SUSPECT)


@pytest.mark.parametrize(("counts", "text"), [
    ({"checked": 0, "inconsistent": 0}, "region east: nothing checked within 1 s"),
    ({"checked": 3000, "inconsistent": 0},
     "region east: >= 3.0 nines of writes consistent within 1 s (0 inconsistent in 3000 "
     "checks; 95% bound from the sample size)"),
    ({"checked": 1000, "inconsistent": 2},
     "region east: 2.7 nines of writes consistent within 1 s (2 inconsistent in 1000 checks)"),
])
def test_summary_lines(counts: dict[str, int], text: str) -> None:
    assert summary_line("east", 1.0, counts) == text


def test_findings_are_bounded() -> None:
    findings = Findings(limit=2)
    assert [findings.add({"n": i}) for i in range(5)] == [True, True, False, False, False]
    assert findings.kept == [{"n": 0}, {"n": 1}]
    assert findings.dropped == 3
