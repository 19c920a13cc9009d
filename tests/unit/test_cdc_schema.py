"""The JSON Schema file describes exactly what the encoder produces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from cdc.normalize import TableShape, TxnContext, row_events
from schemas.config import TableConfig
from schemas.events import encode_event
from schemas.values import Kind

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" /
                     "change_event.schema.json").read_text())
CTX = TxnContext(server_id=1, server_uuid=None, epoch=0, gtid="0-1-9", file="b.000001",
                 file_index=1, txn_pos=4, ts_ms=1)
SHAPE = TableShape(name="app.t", rule=TableConfig(cache_keys=["t:{id}"]), pk=("id",),
                   kinds={"id": Kind.INT, "s": Kind.SET, "b": Kind.BINARY})


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize(
    ("op", "before", "after"),
    [
        ("insert", None, {"id": 1, "s": {"a"}, "b": b"\x00"}),
        ("update", {"id": 1, "s": None, "b": None}, {"id": 1, "s": set(), "b": b""}),
        ("update", {"id": 1, "s": None, "b": None}, {"id": 2, "s": None, "b": None}),
        ("delete", {"id": 1, "s": None, "b": None}, None),
    ],
)
def test_encoded_events_validate(op: Any, before: Any, after: Any) -> None:
    for event in row_events(op, SHAPE, before, after, ctx=CTX, row_index=1):
        jsonschema.validate(json.loads(encode_event(event)), SCHEMA,
                            cls=jsonschema.Draft202012Validator)


def test_schema_rejects_a_bad_version() -> None:
    [event] = row_events("insert", SHAPE, None, {"id": 1}, ctx=CTX, row_index=1)
    payload = json.loads(encode_event(event)) | {"version": "12"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(payload, SCHEMA, cls=jsonschema.Draft202012Validator)
