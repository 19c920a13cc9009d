"""The binlog reader's compiled core (``cdc/_binlog.c``) on hand-made dump packets.

Its agreement with python-mysql-replication on real binlogs (every column type, random
rows, a 17 MiB row split over several packets) is tested in
``tests/integration/test_cdc_fastpath.py``; here: the framing, which packets it parses and
which it hands back, and that no bytes make it read past a packet.
"""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdc import _binlog

CHECKSUM = 4
TABLE_ID = 0x0102030405
# The body of a table map (its table id first); the core compares it byte for byte.
BODY = TABLE_ID.to_bytes(6, "little") + b"\x00\x00\x03app\x00\x01t\x00\x02\x03\x0f\x02\x40\x00\x02"
# (id INT, name VARCHAR(64) utf8): each row image is a NULL bitmap byte, 4 bytes, a 1-byte
# length and the text.
CODEC = _binlog.Codec([("id", _binlog.OP_I32, 0, None), ("name", _binlog.OP_UTF8, 1, None)])
TAG = ("app.t", "shape")
FOLLOWED = {TABLE_ID: (CODEC, BODY, TAG)}


def event(type_: int, body: bytes, *, log_pos: int = 1000, timestamp: int = 1_700_000_000,
          server_id: int = 7, checksum: int = CHECKSUM) -> bytes:
    """A dump packet's payload: the OK byte, the event header, the body, a checksum."""
    size = 19 + len(body) + checksum
    return (b"\x00" + struct.pack("<IBIIIH", timestamp, type_, server_id, size, log_pos, 0)
            + body + b"\xcc" * checksum)


def frame(seq: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "little") + bytes([seq]) + payload


def frames(*payloads: bytes, seq: int = 0) -> bytes:
    return b"".join(frame((seq + i) % 256, p) for i, p in enumerate(payloads))


def gtid_event(domain: int, seq_no: int, flags: int = 0, **kw: Any) -> bytes:
    return event(0xA2, struct.pack("<QIB", seq_no, domain, flags) + b"\x00" * 6, **kw)


def row(id_: int | None, name: str | None) -> bytes:
    nulls = (id_ is None) | (name is None) << 1
    out = bytes([nulls])
    if id_ is not None:
        out += struct.pack("<i", id_)
    if name is not None:
        raw = name.encode()
        out += bytes([len(raw)]) + raw
    return out


def rows_event(type_: int, *images: bytes, columns: int = 2, bitmap: int = 0b11,
               extra: bytes = b"\x02\x00", table_id: int = TABLE_ID) -> bytes:
    version2 = type_ >= 0x1E
    post = table_id.to_bytes(6, "little") + b"\x01\x00" + (extra if version2 else b"")
    images_bitmaps = bytes([bitmap]) * (2 if type_ in (0x18, 0x1F) else 1)
    return event(type_, post + bytes([columns]) + images_bitmaps + b"".join(images))


def scan(buf: bytes, *, seq: int = 0, rows_ok: bool = True, limit: int = 512,
         followed: dict[int, Any] | None = None) -> tuple[list[Any], int, int, int]:
    return _binlog.scan(buf, 0, seq, CHECKSUM, rows_ok,
                        FOLLOWED if followed is None else followed, limit)


def test_gtid_and_xid_events_become_tuples() -> None:
    gtid = gtid_event(2**32 - 1, 2**64 - 1, flags=0x29, log_pos=5000, server_id=2**32 - 2)
    items, pos, seq, stop = scan(frames(gtid, event(0x10, b"\x09" * 8, log_pos=6000)))
    size = len(gtid) - 1  # the event's size, without the OK byte
    assert items == [
        (_binlog.ITEM_GTID, f"{2**32 - 1}-{2**32 - 2}-{2**64 - 1}", 0x29, 1_700_000_000,
         5000 - size),
        (_binlog.ITEM_XID, 6000),
    ]
    assert (pos, seq, stop) == (len(frames(gtid, event(0x10, b""))) + 8, 2, _binlog.STOP_MORE)


@pytest.mark.parametrize(("type_", "op"), [
    (0x17, "insert"), (0x19, "delete"), (0x1E, "insert"), (0x20, "delete"),
])
def test_rows_of_a_followed_table_are_decoded(type_: int, op: str) -> None:
    payload = rows_event(type_, row(1, "ä"), row(None, "b"), row(-5, None))
    items, _, _, stop = scan(frames(payload))
    assert items == [(_binlog.ITEM_ROWS, op, TAG,
                      [{"id": 1, "name": "ä"}, {"id": None, "name": "b"},
                       {"id": -5, "name": None}])]
    assert items[0][2] is TAG and stop == _binlog.STOP_MORE


@pytest.mark.parametrize("type_", [0x18, 0x1F])
def test_update_rows_come_as_before_and_after_images(type_: int) -> None:
    items, _, _, _ = scan(frames(rows_event(type_, row(1, "a"), row(1, "b"))))
    assert items == [(_binlog.ITEM_ROWS, "update", TAG,
                      [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}])]


@pytest.mark.parametrize(("why", "payload", "rows_ok"), [
    ("a table not followed", rows_event(0x17, row(1, "a"), table_id=99), True),
    ("another column count", rows_event(0x17, row(1, "a"), columns=3, bitmap=0b111), True),
    ("a partial row image", rows_event(0x17, row(1, "a"), bitmap=0b01), True),
    ("bits past the columns", rows_event(0x17, row(1, "a"), bitmap=0b111), True),
    ("rows events of another layout", rows_event(0x17, row(1, "a")), False),
    ("an update without its after image", rows_event(0x18, row(1, "a")), True),
    ("images cut short", rows_event(0x17, row(1, "a"))[:-CHECKSUM - 1] + b"\xcc" * 4, True),
    ("text that is not UTF-8", rows_event(0x17, b"\x00" + struct.pack("<i", 1) + b"\x01\xff"),
     True),
    ("a version-2 extra past the event", rows_event(0x1E, row(1, "a"), extra=b"\xff\x00"),
     True),
    ("a table map", event(0x13, BODY[:-1] + b"\x01"), True),
    ("a query", event(0x02, b"BEGIN"), True),
    ("an event without the OK byte", b"\xfe" + event(0x10, b"")[1:], True),
    ("a short event", b"\x00" * 19, True),
    ("a short GTID event", event(0xA2, b"\x00" * 12), True),
])
def test_what_the_core_does_not_parse_comes_back_as_bytes_and_ends_the_scan(
        why: str, payload: bytes, rows_ok: bool) -> None:
    after = event(0x10, b"")
    buf = frames(payload, after)
    items, pos, seq, stop = scan(buf, rows_ok=rows_ok)
    assert items == [payload], why
    assert (pos, seq, stop) == (len(frame(0, payload)), 1, _binlog.STOP_RAW)
    assert _binlog.parse(payload, CHECKSUM, rows_ok, FOLLOWED) == payload


def test_a_followed_table_map_with_the_same_bytes_changes_nothing() -> None:
    buf = frames(event(0x13, BODY), event(0x10, b""))
    items, pos, seq, stop = scan(buf)
    assert [item[0] for item in items] == [_binlog.ITEM_XID]
    assert (pos, seq, stop) == (len(buf), 2, _binlog.STOP_MORE)
    assert _binlog.parse(event(0x13, BODY), CHECKSUM, True, FOLLOWED) is None


@pytest.mark.parametrize(("why", "buf", "seq", "stop"), [
    ("half a header", b"\x05\x00", 0, _binlog.STOP_MORE),
    ("half a packet", frame(0, event(0x10, b""))[:-1], 0, _binlog.STOP_MORE),
    ("a wrong sequence number", frame(3, event(0x10, b"")), 0, _binlog.STOP_SLOW),
    ("an error packet", frame(0, b"\xff\x15\x04#HY000boom"), 0, _binlog.STOP_SLOW),
    ("a packet of 16 MiB or more", b"\xff\xff\xff\x00" + b"\x00" * 64, 0, _binlog.STOP_SLOW),
])
def test_a_packet_the_core_cannot_take_whole_stays_unread(why: str, buf: bytes, seq: int,
                                                          stop: int) -> None:
    assert scan(buf, seq=seq) == ([], 0, seq, stop), why


def test_sequence_numbers_wrap_and_the_limit_ends_a_scan() -> None:
    xid = event(0x10, b"")
    items, pos, seq, stop = scan(frames(xid, xid, xid, seq=254), seq=254, limit=2)
    assert (len(items), pos, seq, stop) == (2, 2 * len(frame(0, xid)), 0, _binlog.STOP_RAW)
    assert scan(frames(xid, seq=0), seq=0)[2] == 1


def test_decoded_rows_count_toward_the_limit() -> None:
    many = rows_event(0x17, *[row(i, "x") for i in range(300)])
    buf = frames(many, many, event(0x10, b""))
    items, pos, _, stop = scan(buf, limit=512)
    assert [len(item[3]) for item in items] == [300, 300]  # the second reaches the limit
    assert (pos, stop) == (len(frames(many, many)), _binlog.STOP_RAW)


@pytest.mark.parametrize(("op", "raw", "value"), [
    (_binlog.OP_I8, b"\x80", -128), (_binlog.OP_U8, b"\xff", 255),
    (_binlog.OP_I16, b"\x00\x80", -32768), (_binlog.OP_U16, b"\xff\xff", 65535),
    (_binlog.OP_I24, b"\xff\xff\x7f", 2**23 - 1), (_binlog.OP_I24, b"\xff\xff\xff", -1),
    (_binlog.OP_U24, b"\xff\xff\xff", 2**24 - 1),
    (_binlog.OP_I32, b"\x00\x00\x00\x80", -(2**31)), (_binlog.OP_U32, b"\xff" * 4, 2**32 - 1),
    (_binlog.OP_I64, b"\x00" * 7 + b"\x80", -(2**63)), (_binlog.OP_U64, b"\xff" * 8, 2**64 - 1),
    (_binlog.OP_F64, struct.pack("<d", -1.5e300), -1.5e300),
    (_binlog.OP_YEAR, b"\x00", 1900),
])
def test_native_columns(op: int, raw: bytes, value: Any) -> None:
    codec = _binlog.Codec([("v", op, 0, None)])
    data = b"\x00" + raw
    got = codec.images(data, 0, len(data))
    assert got == [{"v": value}] and type(got[0]["v"]) is type(value)
    with pytest.raises(ValueError, match="overran"):
        codec.images(data[:-1], 0, len(data) - 1)


@pytest.mark.parametrize("prefix", [1, 2, 3, 4])
def test_utf8_text_with_each_length_prefix(prefix: int) -> None:
    codec = _binlog.Codec([("v", _binlog.OP_UTF8, prefix, None)])
    text = "漢字😀" * (20 if prefix == 1 else 300)
    raw = text.encode()
    data = b"\x00" + len(raw).to_bytes(prefix, "little") + raw
    assert codec.images(data, 0, len(data)) == [{"v": text}]
    with pytest.raises(ValueError, match="overran"):
        codec.images(data[:-1], 0, len(data) - 1)


def test_python_readers_get_the_buffer_and_offset_and_are_checked() -> None:
    def pair(data: bytes, pos: int) -> tuple[Any, int]:
        return data[pos:pos + 2].hex(), pos + 2

    codec = _binlog.Codec([("a", _binlog.OP_U8, 0, None), ("b", _binlog.OP_PY, 0, pair)])
    assert codec.images(b"..\x00\x07\xab\xcd", 2, 6) == [{"a": 7, "b": "abcd"}]

    def bad(result: Any) -> _binlog.Codec:
        return _binlog.Codec([("v", _binlog.OP_PY, 0, lambda data, pos: result)])

    with pytest.raises(TypeError, match=r"\(value, offset\)"):
        bad("x").images(b"\x00\x01", 0, 2)
    with pytest.raises(ValueError, match="overran"):
        bad(("x", 5)).images(b"\x00\x01", 0, 2)
    with pytest.raises(ValueError, match="overran"):
        bad(("x", 0)).images(b"\x00\x01", 0, 2)  # backwards


@pytest.mark.parametrize(("columns", "error"), [
    ([], "1 to 4096 columns"),
    ([("v", 99, 0, None)], "bad operation"),
    ([("v", _binlog.OP_UTF8, 5, None)], "bad operation"),
    ([("v", _binlog.OP_PY, 0, None)], "bad operation"),
])
def test_a_codec_refuses_bad_columns(columns: list[Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        _binlog.Codec(columns)


def test_images_outside_the_data_are_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        CODEC.images(b"\x00", 0, 2)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=6), st.binary(max_size=8),
       st.integers(0, 255), st.booleans())
def test_any_bytes_are_parsed_or_handed_back_never_read_past(
        payloads: list[bytes], tail: bytes, seq: int, rows_ok: bool) -> None:
    # Random payloads, some dressed as the events the core parses.
    dressed = [event(p[0] if p else 0x17, p[1:]) if i % 2 else p
               for i, p in enumerate(payloads)]
    dressed += [rows_event(0x17, tail), rows_event(0x1F, tail)]
    buf = frames(*dressed, seq=seq) + tail
    pos, at = 0, seq
    while True:
        items, new_pos, at, stop = _binlog.scan(buf, pos, at, CHECKSUM, rows_ok, FOLLOWED, 512)
        assert pos <= new_pos <= len(buf)
        assert stop in (_binlog.STOP_MORE, _binlog.STOP_SLOW, _binlog.STOP_RAW)
        for item in items:
            assert item is None or isinstance(item, (bytes, tuple))
        if new_pos == pos:
            break
        pos = new_pos
    for payload in dressed:
        _binlog.parse(payload, CHECKSUM, rows_ok, FOLLOWED)
