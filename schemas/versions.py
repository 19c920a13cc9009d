"""Versions: the fence that makes every region converge.

Every cache entry carries the version of the row state it holds, and a write lands only
when its version is strictly newer than the stored one. Duplicates are then no-ops and
late or reordered writes lose.

A version is an unsigned 128-bit integer. On the wire and in Redis it is a fixed-width,
32-character lowercase hex string, so two versions compare exactly as strings of equal
length, and Lua (whose numbers are doubles, exact only below 2**53) never does arithmetic
on them.

Binlog-derived versions pack ``(epoch, file_index, txn_pos, row_index)``:

- ``epoch`` (16 bits) increases when the source server identity changes (failover); raw
  file:pos is not comparable across servers;
- ``file_index`` (32 bits) is the binlog file's numeric suffix;
- ``txn_pos`` (32 bits) is the position at which the transaction starts (its GTID event);
- ``row_index`` (48 bits) numbers row changes inside the transaction from 1.

A consistent snapshot taken at binlog position P (the position after the last transaction
it contains) gets ``snapshot_version(epoch, P) = (epoch, file_index, pos, 0)``: every
transaction inside the snapshot starts before P, and every later one starts at or after P
with a row index of at least 1, so the snapshot version is greater than all changes inside
and smaller than all changes after it. Equal versions always mean the same row state.

Tables with a version column use the column's value (an integer, or a DATETIME/TIMESTAMP
as microseconds since the Unix epoch) directly; such a column must keep increasing across
a delete and a re-insert of the same key.
"""

from __future__ import annotations

import datetime as _dt
from typing import Final

VERSION_HEX_WIDTH: Final = 32
ZERO_VERSION: Final = "0" * VERSION_HEX_WIDTH

_EPOCH_BITS: Final = 16
_FILE_BITS: Final = 32
_POS_BITS: Final = 32
_ROW_BITS: Final = 48
_MAX_VERSION: Final = (1 << 128) - 1


class VersionError(ValueError):
    """A value cannot be turned into a version (out of range, wrong type)."""


def encode_version(value: int) -> str:
    """Encode a 128-bit unsigned integer as the 32-char hex wire form."""
    if not 0 <= value <= _MAX_VERSION:
        raise VersionError(f"version {value} is outside 0..2**128-1")
    return f"{value:032x}"


def decode_version(text: str) -> int:
    """Parse the wire form back into an integer; rejects anything not 32 hex chars."""
    if len(text) != VERSION_HEX_WIDTH:
        raise VersionError(f"version {text!r} is not {VERSION_HEX_WIDTH} hex characters")
    try:
        return int(text, 16)
    except ValueError as exc:
        raise VersionError(f"version {text!r} is not hexadecimal") from exc


def _check(name: str, value: int, bits: int) -> None:
    if not 0 <= value < (1 << bits):
        raise VersionError(f"{name}={value} does not fit in {bits} bits")


def binlog_version(epoch: int, file_index: int, txn_pos: int, row_index: int) -> str:
    """Version of the ``row_index``-th row change (from 1) of the transaction at file:pos."""
    base = binlog_version_base(epoch, file_index, txn_pos)
    _check("row_index", row_index, _ROW_BITS)
    if row_index == 0:
        raise VersionError("row_index starts at 1; 0 is reserved for snapshot versions")
    return encode_version(base | row_index)


def binlog_version_base(epoch: int, file_index: int, txn_pos: int) -> int:
    """The transaction's versions as an integer with row index 0: its ``row_index``-th row
    change's version is ``encode_version(base + row_index)`` for 1 <= row_index < 2**48."""
    return _position(epoch, file_index, txn_pos, "txn_pos")


def snapshot_version(epoch: int, file_index: int, pos: int) -> str:
    """Version of a read at a consistent snapshot whose binlog position is file:pos."""
    return encode_version(_position(epoch, file_index, pos, "pos"))


def _position(epoch: int, file_index: int, pos: int, pos_name: str) -> int:
    """A binlog position packed with row index 0, each part checked (``pos_name``: how an
    error names ``pos``)."""
    _check("epoch", epoch, _EPOCH_BITS)
    _check("file_index", file_index, _FILE_BITS)
    _check(pos_name, pos, _POS_BITS)
    return _pack(epoch, file_index, pos, 0)


def _pack(epoch: int, file_index: int, pos: int, row_index: int) -> int:
    value = epoch
    value = (value << _FILE_BITS) | file_index
    value = (value << _POS_BITS) | pos
    return (value << _ROW_BITS) | row_index


def unpack_binlog_version(text: str) -> tuple[int, int, int, int]:
    """Inverse of :func:`binlog_version`: ``(epoch, file_index, pos, row_index)``."""
    value = decode_version(text)
    row = value & ((1 << _ROW_BITS) - 1)
    value >>= _ROW_BITS
    pos = value & ((1 << _POS_BITS) - 1)
    value >>= _POS_BITS
    file_index = value & ((1 << _FILE_BITS) - 1)
    epoch = value >> _FILE_BITS
    return epoch, file_index, pos, row


_UNIX_EPOCH: Final = _dt.datetime(1970, 1, 1)


def column_version(value: object) -> str:
    """Version from a configured version column: an integer, or a datetime in microseconds."""
    if isinstance(value, bool):
        raise VersionError("a boolean column cannot be a version column")
    if isinstance(value, int):
        return encode_version(value)
    if isinstance(value, _dt.datetime):
        naive = value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(
            _dt.UTC).replace(tzinfo=None)
        delta = naive - _UNIX_EPOCH
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return encode_version(micros)
    if isinstance(value, str):
        try:
            return column_version(_dt.datetime.fromisoformat(value))
        except ValueError:
            pass
        try:
            return encode_version(int(value))
        except ValueError as exc:
            raise VersionError(f"version column value {value!r} is neither int nor datetime") \
                from exc
    raise VersionError(f"version column value of type {type(value).__name__} is not supported")


def binlog_file_index(file_name: str) -> int:
    """Numeric suffix of a binlog file name such as ``mariadb-bin.000042``."""
    _, _, suffix = file_name.rpartition(".")
    if not suffix.isdigit():
        raise VersionError(f"binlog file name {file_name!r} has no numeric suffix")
    return int(suffix)
