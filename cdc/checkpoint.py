"""The CDC checkpoint in the engine's ``positions`` table (one row per source)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.mysql import insert

from cachesync.db import positions
from cdc.position import Position


@dataclass(frozen=True, slots=True)
class Stored:
    position: Position
    server_id: int
    server_uuid: str | None
    epoch: int


class CheckpointStore:
    def __init__(self, engine: sa.Engine, source_name: str) -> None:
        self._engine = engine
        self._name = source_name

    def load(self) -> Stored | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(positions).where(positions.c.source_name == self._name)
            ).one_or_none()
        if row is None:
            return None
        return Stored(
            Position(row.gtid, row.file, row.pos, row.row_index),
            row.server_id, row.server_uuid, row.epoch,
        )

    def save(self, position: Position, server_id: int, server_uuid: str | None,
             epoch: int) -> None:
        values = {
            "source_name": self._name, "server_id": server_id, "server_uuid": server_uuid,
            "epoch": epoch, "gtid": position.gtid, "file": position.file, "pos": position.pos,
            "row_index": position.row_index, "updated_at": dt.datetime.now(dt.UTC).replace(
                tzinfo=None),
        }
        statement = insert(positions).values(values)
        statement = statement.on_duplicate_key_update(
            {key: statement.inserted[key] for key in values if key != "source_name"}
        )
        with self._engine.begin() as conn:
            conn.execute(statement)
