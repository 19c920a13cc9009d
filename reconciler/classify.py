"""Drift classification and repair planning: pure, no I/O.

Theory of operation
-------------------
The reconciler reads a row at a consistent snapshot whose binlog position gives the snapshot
version ``S`` (:func:`schemas.versions.snapshot_version`). The row's *reference version*
``V`` is the value of the table's version column when it has one, else ``S``. ``S`` is
greater than the version of every row change inside the snapshot and smaller than every
change after it, so:

- an entry whose version is newer than ``V`` was written by the live stream after the
  snapshot (or by an earlier repair at a later snapshot): it is never drift, the stream owns it;
- an entry at ``V`` or older must hold the value the snapshot holds, else it is drift.

The rules, one row per case (``E`` is the region's entry, ``X`` the projected row value the
consumers would write for the snapshot's row):

=========  ===========================  =============================  ======================
DB row     entry                        class                          repair
=========  ===========================  =============================  ======================
present    none                         ``missing``                    fill at V if ``warm``
present    tombstone, E.v > V           --                             --
present    tombstone, E.v <= V,         ``tombstone_over_live_row``    fill at V (E.v = V:
           ``action = rewrite``                                        none, see below)
present    tombstone, E.v <= V,         ``missing`` (an invalidated    fill at V if ``warm``
           ``action = invalidate``      entry is a normal miss)
present    value, E.v > V               --                             --
present    value, E.v = V, same bytes   --                             --
present    value, E.v = V, other bytes  ``corrupt``                    invalidate at V+1
present    value, E.v < V, same bytes   --                             --
present    value, E.v < V, other bytes  ``stale``                      fill at V
absent     none or tombstone            --                             --
absent     value, binlog versions,      -- (row inserted after the     --
           E.v > S                      snapshot, stream applied it)
absent     value, otherwise             ``orphan``                     invalidate at S if
                                                                       E.v < S, else E.v+1
=========  ===========================  =============================  ======================

Why these repairs are safe with the live stream running: every repair goes through the same
fenced script as the consumers, so it lands only if nothing at its version or newer is
stored. A fill at ``V`` carries exactly the snapshot's state; any later change has a newer
version and wins whether it was applied before or after the fill. Nothing regresses.

Equal versions. The fence treats an equal version as a duplicate, so an entry at exactly
``V`` with different bytes (``corrupt``) cannot be overwritten at ``V``. With binlog-derived
versions ``E.v = S`` only happens when an earlier reconcile filled at the same binlog
position (the run row is written to the engine schema before each snapshot, so this needs
the engine schema on another server, or no run row). With a version column it is the normal
shape of corruption. (A *tombstone* at exactly ``V`` over a live row is left alone: it
already reads as a miss and no fenced write can both replace it and stay exact.) The repair
of a corrupt value is a *tombstone* at ``V+1``: it removes the bad bytes
and can never make a reader see stale data (a tombstone is a miss; readers go to the DB). The
cost, when the next real change has exactly version ``V+1`` (row index 1 of the transaction
at the snapshot position, or an integer version column bumped by one): that change's
rewrite is fenced as a duplicate and the key stays a miss until the change after it.

With binlog-derived versions a corrupt value at an older version cannot be told from a stale
one (the snapshot does not say which change last touched the row): both are ``stale`` and
both are repaired by the same fill at ``S``. ``corrupt`` is exact for version-column tables.

Orphans with a version column: the deleted row's version is unknown, and it is ``>= E.v``;
a re-insert must have a larger version (the column's contract), so a tombstone at ``E.v+1``
removes the orphan and only collides with a re-insert at exactly ``E.v+1`` (same cost as
above: a miss, never stale data). The caller re-checks the current DB before such a repair.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import Enum

from schemas.actions import CacheAction, CacheEntry
from schemas.config import TableConfig
from schemas.versions import decode_version, encode_version


class DriftClass(Enum):
    """What is wrong with one region's entry for one cache key."""

    STALE = "stale"
    CORRUPT = "corrupt"
    ORPHAN = "orphan"
    TOMBSTONE_OVER_LIVE_ROW = "tombstone_over_live_row"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class ExpectedEntry:
    """What a region should hold for a key, from the DB row read at the snapshot."""

    value: bytes
    """The projected row value, encoded exactly as the consumers encode a rewrite."""
    version: str
    """The row's reference version: its version column, or the snapshot version."""


def value_checksum(value: bytes | None) -> str:
    """Short checksum of a cache value for reports (never the value itself)."""
    if value is None:
        return "tombstone"
    return hashlib.blake2b(value, digest_size=8).hexdigest()


def next_version(version: str) -> str:
    return encode_version(decode_version(version) + 1)


def uses_snapshot_versions(rule: TableConfig) -> bool:
    return rule.version_column is None


def classify(
    row: ExpectedEntry | None,
    entry: CacheEntry | None,
    snapshot_version: str,
    rule: TableConfig,
) -> DriftClass | None:
    """Classify one region's entry against the DB row at the snapshot; None: consistent.

    Versions are fixed-width hex strings, so string comparison is version order.
    """
    if row is None:
        if entry is None or entry.is_tombstone:
            return None
        if uses_snapshot_versions(rule) and entry.version > snapshot_version:
            return None
        return DriftClass.ORPHAN
    if entry is None:
        return DriftClass.MISSING
    if entry.value == row.value:
        return None
    if entry.version > row.version:
        return None
    if entry.is_tombstone:
        if rule.action == "invalidate":
            return DriftClass.MISSING
        return DriftClass.TOMBSTONE_OVER_LIVE_ROW
    if entry.version == row.version:
        return DriftClass.CORRUPT
    return DriftClass.STALE


def plan_repair(
    drift: DriftClass,
    *,
    key: str,
    row: ExpectedEntry | None,
    entry: CacheEntry | None,
    snapshot_version: str,
    rule: TableConfig,
) -> CacheAction | None:
    """The fenced action that repairs ``drift`` (see the module table); None: leave it."""
    if drift is DriftClass.MISSING:
        if not rule.warm or row is None:
            return None
        return _fill(key, row, rule)
    if drift is DriftClass.ORPHAN:
        if entry is None:
            return None
        if uses_snapshot_versions(rule) and entry.version < snapshot_version:
            version = snapshot_version
        else:
            version = next_version(entry.version)
        return _invalidate(key, version, rule)
    if row is None:
        return None
    if entry is not None and entry.version == row.version:
        if entry.is_tombstone:
            return None
        return _invalidate(key, next_version(row.version), rule)
    return _fill(key, row, rule)


def _fill(key: str, row: ExpectedEntry, rule: TableConfig) -> CacheAction:
    return CacheAction(
        kind="fill", key=key, version=row.version, ttl_seconds=rule.ttl_seconds, value=row.value
    )


def _invalidate(key: str, version: str, rule: TableConfig) -> CacheAction:
    return CacheAction(
        kind="invalidate", key=key, version=version, ttl_seconds=rule.tombstone_ttl_seconds
    )


def counts_as_drift(drift: DriftClass, rule: TableConfig) -> bool:
    """Whether a class makes the run report drift (exit 1): a miss only on a warm table."""
    return drift is not DriftClass.MISSING or rule.warm
