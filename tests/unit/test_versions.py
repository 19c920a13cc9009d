"""Version encoding: exact order, the snapshot-version invariant, and range checks."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.versions import (
    VersionError,
    binlog_file_index,
    binlog_version,
    binlog_version_base,
    column_version,
    decode_version,
    encode_version,
    snapshot_version,
    unpack_binlog_version,
)

coords = st.tuples(
    st.integers(0, 2**16 - 1),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.integers(1, 2**48 - 1),
)


@given(coords, coords)
def test_string_order_equals_tuple_order(a: tuple[int, ...], b: tuple[int, ...]) -> None:
    va, vb = binlog_version(*a), binlog_version(*b)
    assert len(va) == len(vb) == 32
    assert (va < vb) == (a < b)
    assert (va == vb) == (a == b)
    assert unpack_binlog_version(va) == a


@given(coords)
def test_a_transactions_base_plus_the_row_index_is_the_rows_version(
        change: tuple[int, int, int, int]) -> None:
    epoch, file_index, txn_pos, row_index = change
    base = binlog_version_base(epoch, file_index, txn_pos)
    assert encode_version(base + row_index) == binlog_version(*change)


@given(coords, st.integers(0, 2**32 - 1))
def test_snapshot_version_sits_between(change: tuple[int, int, int, int], pos: int) -> None:
    epoch, file_index, txn_pos, _ = change
    snap = snapshot_version(epoch, file_index, pos)
    version = binlog_version(*change)
    # Transactions that start before the snapshot position are inside it, others after.
    assert (version < snap) == (txn_pos < pos)
    assert version != snap


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((2**16, 0, 0, 1), "epoch"),
        ((0, 2**32, 0, 1), "file_index"),
        ((0, 0, 2**32, 1), "txn_pos"),
        ((0, 0, 0, 2**48), "row_index"),
        ((0, 0, 0, 0), "reserved for snapshot"),
        ((-1, 0, 0, 1), "epoch"),
    ],
)
def test_binlog_version_range(args: tuple[int, int, int, int], message: str) -> None:
    with pytest.raises(VersionError, match=message):
        binlog_version(*args)
    if message != "row_index" and "snapshot" not in message:
        with pytest.raises(VersionError, match=message):
            binlog_version_base(*args[:3])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (42, 42),
        (2**64 + 7, 2**64 + 7),
        (dt.datetime(1970, 1, 1, 0, 0, 1, 5), 1_000_005),
        (dt.datetime(2026, 1, 1, tzinfo=dt.UTC), 1_767_225_600_000_000),
        ("2026-01-01T00:00:00", 1_767_225_600_000_000),
        ("17", 17),
    ],
)
def test_column_version(value: object, expected: int) -> None:
    assert decode_version(column_version(value)) == expected


@pytest.mark.parametrize("value", [True, 1.5, None, "soon", -1])
def test_column_version_rejects(value: object) -> None:
    with pytest.raises(VersionError):
        column_version(value)


@pytest.mark.parametrize("text", ["", "0" * 31, "g" * 32, "0" * 33])
def test_decode_rejects_malformed(text: str) -> None:
    with pytest.raises(VersionError):
        decode_version(text)


def test_encode_range_and_file_index() -> None:
    with pytest.raises(VersionError):
        encode_version(2**128)
    assert binlog_file_index("mariadb-bin.000042") == 42
    with pytest.raises(VersionError, match="numeric suffix"):
        binlog_file_index("mariadb-bin.index")
