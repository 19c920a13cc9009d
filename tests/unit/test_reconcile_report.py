"""Counting drift, the JSON report and the exit code."""

from __future__ import annotations

from reconciler.report import (
    EXIT_CLEAN,
    EXIT_DRIFT,
    EXIT_ERROR,
    Tally,
    build_report,
    human_summary,
)


def report(tally: Tally, warm: dict[str, bool], *, error: str | None = None,
           dry_run: bool = False) -> dict[str, object]:
    return build_report(run_id=3, status="done", dry_run=dry_run, resumed=False, snapshots=[],
                        tally=tally, warm=warm, samples=[], samples_dropped=0, elapsed_s=2.0,
                        error=error)


def test_clean_run_exits_zero() -> None:
    tally = Tally()
    tally.touch("app.t", ["east", "west"])
    tally.add_rows("app.t", 10)
    out = report(tally, {"app.t": False})
    assert out["exit_code"] == EXIT_CLEAN
    assert out["rows_scanned"] == 10
    assert out["rows_per_s"] == 5.0


def test_missing_counts_as_drift_only_on_warm_tables() -> None:
    tally = Tally()
    tally.add("app.t", "east", "missing", 4)
    assert report(tally, {"app.t": False})["exit_code"] == EXIT_CLEAN
    assert report(tally, {"app.t": True})["exit_code"] == EXIT_DRIFT


def test_drift_by_class_and_region_and_totals() -> None:
    tally = Tally()
    tally.add("app.t", "east", "stale", 2)
    tally.add("app.t", "west", "orphan")
    tally.add("app.u", "west", "corrupt")
    tally.add("app.t", "east", "applied", 2)
    out = report(tally, {})
    assert out["exit_code"] == EXIT_DRIFT
    assert out["drift"] == 4
    totals = out["totals"]
    assert isinstance(totals, dict)
    assert (totals["stale"], totals["orphan"], totals["corrupt"], totals["applied"]) == \
        (2, 1, 1, 2)
    summary = human_summary(out)
    assert "app.t [east]: stale=2; repaired 2" in summary


def test_error_exits_two_and_tally_survives_json() -> None:
    tally = Tally()
    tally.add("app.t", "east", "stale")
    restored = Tally.from_json(tally.to_json())
    assert restored == tally
    assert Tally.from_json(None) == Tally()
    assert report(restored, {}, error="boom")["exit_code"] == EXIT_ERROR
