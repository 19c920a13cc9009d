"""Counting drift and building the run's report and exit code: pure, no I/O.

The tally is plain JSON so it can be stored in ``reconciler_runs.counts`` after every chunk
and picked up again by ``--resume``. Exit codes (for cron): 0 no drift, 1 drift found
(repaired unless ``--dry-run``), 2 error (set by the CLI).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from reconciler.classify import DriftClass

EXIT_CLEAN: Final = 0
EXIT_DRIFT: Final = 1
EXIT_ERROR: Final = 2

REPAIR_COUNTERS: Final = ("planned", "applied", "fenced")
"""Per region: repairs planned, applied by the fence, and refused by it (something newer)."""


def _empty_region() -> dict[str, int]:
    return {cls.value: 0 for cls in DriftClass} | dict.fromkeys(REPAIR_COUNTERS, 0)


@dataclass(slots=True)
class Tally:
    """Counts by table, then region, then drift class or repair counter."""

    tables: dict[str, dict[str, Any]] = field(default_factory=dict)

    def _table(self, table: str) -> dict[str, Any]:
        return self.tables.setdefault(table, {"rows_scanned": 0, "keys_scanned": 0,
                                              "regions": {}})

    def add(self, table: str, region: str, counter: str, amount: int = 1) -> None:
        regions: dict[str, dict[str, int]] = self._table(table)["regions"]
        counts = regions.setdefault(region, _empty_region())
        counts[counter] = counts.get(counter, 0) + amount

    def add_rows(self, table: str, rows: int) -> None:
        self._table(table)["rows_scanned"] += rows

    def add_keys(self, table: str, keys: int) -> None:
        """Redis keys looked at by the orphan scan."""
        self._table(table)["keys_scanned"] += keys

    def touch(self, table: str, regions: list[str]) -> None:
        """Make a table and its regions show up in the report even with zero counts."""
        for region in regions:
            self._table(table)["regions"].setdefault(region, _empty_region())

    def to_json(self) -> dict[str, Any]:
        return {"tables": self.tables}

    @classmethod
    def from_json(cls, data: object) -> Tally:
        if not isinstance(data, dict) or not isinstance(data.get("tables"), dict):
            return cls()
        return cls(tables=data["tables"])

    def drift(self, warm: Mapping[str, bool]) -> int:
        """Entries counting as drift: every class, and ``missing`` on warm tables only."""
        total = 0
        for table, counts in self.tables.items():
            for region_counts in counts["regions"].values():
                for cls in DriftClass:
                    if cls is DriftClass.MISSING and not warm.get(table, False):
                        continue
                    total += region_counts.get(cls.value, 0)
        return total


@dataclass(frozen=True, slots=True)
class SampleAction:
    """One planned repair, for the report (a checksum, never the value)."""

    table: str
    region: str
    key: str
    drift: str
    kind: str
    version: str
    cached_version: str | None
    cached_checksum: str | None


def build_report(
    *,
    run_id: int,
    status: str,
    dry_run: bool,
    resumed: bool,
    snapshots: list[dict[str, Any]],
    tally: Tally,
    warm: Mapping[str, bool],
    samples: list[SampleAction],
    samples_dropped: int,
    elapsed_s: float,
    error: str | None = None,
) -> dict[str, Any]:
    drift = tally.drift(warm)
    rows = sum(counts["rows_scanned"] for counts in tally.tables.values())
    totals = _empty_region()
    for counts in tally.tables.values():
        for region_counts in counts["regions"].values():
            for name, value in region_counts.items():
                totals[name] = totals.get(name, 0) + value
    return {
        "run_id": run_id,
        "status": status,
        "dry_run": dry_run,
        "resumed": resumed,
        "drift": drift,
        "exit_code": EXIT_ERROR if error else (EXIT_DRIFT if drift else EXIT_CLEAN),
        "error": error,
        "elapsed_s": round(elapsed_s, 3),
        "rows_scanned": rows,
        "rows_per_s": round(rows / elapsed_s, 1) if elapsed_s > 0 else None,
        "snapshots": snapshots,
        "totals": totals,
        "tables": tally.tables,
        "actions" if dry_run else "repairs": [
            {
                "table": s.table, "region": s.region, "key": s.key, "class": s.drift,
                "kind": s.kind, "version": s.version, "cached_version": s.cached_version,
                "cached_checksum": s.cached_checksum,
            }
            for s in samples
        ],
        "actions_not_listed": samples_dropped,
    }


def human_summary(report: Mapping[str, Any]) -> str:
    """A few lines for stderr: per table and region, the non-zero counts."""
    verb = "would repair" if report["dry_run"] else "repaired"
    lines = [
        f"reconcile run {report['run_id']} {report['status']}: {report['rows_scanned']} rows "
        f"in {report['elapsed_s']}s, drift={report['drift']}"
        + (f", error: {report['error']}" if report["error"] else "")
    ]
    for table, counts in sorted(report["tables"].items()):
        for region, region_counts in sorted(counts["regions"].items()):
            found = ", ".join(
                f"{cls.value}={region_counts[cls.value]}"
                for cls in DriftClass if region_counts.get(cls.value)
            ) or "no drift"
            repaired = region_counts["planned"] if report["dry_run"] else region_counts["applied"]
            lines.append(
                f"  {table} [{region}]: {found}; {verb} {repaired}, "
                f"fenced {region_counts['fenced']}"
            )
    return "\n".join(lines)
