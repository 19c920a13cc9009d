"""The change-event codec: round trip, unknown envelope versions, garbage."""

from __future__ import annotations

import msgspec
import pytest

from schemas.events import (
    SCHEMA_VERSION,
    ChangeEvent,
    CodecError,
    Source,
    decode_event,
    encode_event,
)
from schemas.versions import binlog_version

SOURCE = Source(server_id=1, gtid="0-1-7", file="mariadb-bin.000001", pos=400, row_index=1,
                ts_ms=1_700_000_000_000)


def event(op: str = "update") -> ChangeEvent:
    return ChangeEvent(
        op=op,  # type: ignore[arg-type]
        table="app.users",
        pk={"id": 7},
        key="7",
        before={"id": 7, "name": "a"},
        after={"id": 7, "name": "b", "amount": "10.50"},
        version=binlog_version(0, 1, 400, 1),
        source=SOURCE,
    )


def test_round_trip() -> None:
    original = event()
    assert decode_event(encode_event(original)) == original


def test_row_is_after_image_or_before_for_deletes() -> None:
    assert event("update").row["name"] == "b"
    deleted = msgspec.structs.replace(event("delete"), after=None)
    assert deleted.row["name"] == "a"


def test_unknown_schema_version_is_refused() -> None:
    payload = encode_event(msgspec.structs.replace(event(), schema_version=SCHEMA_VERSION + 1))
    with pytest.raises(CodecError, match="schema_version"):
        decode_event(payload)


@pytest.mark.parametrize("payload", [b"", b"{", b"[]", b'{"op": "insert"}', b'{"op": "upsert"}'])
def test_garbage_is_refused(payload: bytes) -> None:
    with pytest.raises(CodecError):
        decode_event(payload)


def test_unknown_fields_are_tolerated_for_forward_compatibility() -> None:
    raw = msgspec.json.decode(encode_event(event()))
    raw["future_field"] = 1
    assert decode_event(msgspec.json.encode(raw)) == event()
