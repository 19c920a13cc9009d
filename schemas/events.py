"""The change event: the one envelope every part of cachesync speaks.

A ``ChangeEvent`` is one row change, decoded from the binlog and normalized. It is frozen
and self-contained: a consumer needs nothing but the event and its table rule to decide
what to do with the cache. Row images hold JSON-safe values only (see ``schemas/types.md``
for the mapping of MySQL column types).

On the wire an event is JSON (msgspec), keyed in Kafka by ``key`` encoded as UTF-8 so that
any Kafka client's default partitioner (murmur2) puts a key on the same partition.
``schemas/change_event.schema.json`` describes the same envelope for other languages.
"""

from __future__ import annotations

from typing import Any, Final, Literal

import msgspec

SCHEMA_VERSION: Final = 1

Op = Literal["insert", "update", "delete"]
RowImage = dict[str, Any]


class Source(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=False):
    """Where in the source's binlog a row change came from."""

    server_id: int
    """``server_id`` of the MySQL/MariaDB server that wrote the binlog."""
    server_uuid: str | None = None
    """Server identity used to detect failover (MySQL ``server_uuid``; MariaDB: None)."""
    epoch: int = 0
    """Failover epoch: increases each time the source server identity changes."""
    gtid: str | None = None
    """GTID of the transaction (``domain-server-seq`` or ``uuid:n``)."""
    file: str
    """Binlog file holding the transaction."""
    pos: int
    """Position of the transaction's first event (its GTID event) in ``file``."""
    row_index: int
    """Index of this row change inside its transaction, from 1."""
    ts_ms: int
    """Commit timestamp of the transaction, milliseconds since the Unix epoch."""


class ChangeEvent(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=False):
    """One row change, versioned."""

    schema_version: int = SCHEMA_VERSION
    """Version of this envelope's layout; consumers refuse versions they do not know."""
    op: Op
    """``insert``, ``update`` or ``delete``. An update that moves the partition or primary
    key arrives as a delete of the old key followed by an insert of the new one."""
    table: str
    """``db.table`` of the row."""
    pk: RowImage
    """Primary-key column values of the row (after image, or before image for deletes)."""
    key: str
    """Partition key: the configured user-key column's value as text (Kafka record key)."""
    before: RowImage | None = None
    """Row image before the change (None for inserts)."""
    after: RowImage | None = None
    """Row image after the change (None for deletes)."""
    version: str
    """The fence: 32 lowercase hex chars, see :mod:`schemas.versions`."""
    source: Source
    """Binlog coordinates of the change."""

    @property
    def row(self) -> RowImage:
        """The image that describes the row's state after the change (before for deletes)."""
        image = self.after if self.op != "delete" else self.before
        return image if image is not None else self.pk


class CodecError(ValueError):
    """A payload is not a valid change event (undecodable or of an unknown schema version)."""


_encoder: Final = msgspec.json.Encoder()
_decoder: Final = msgspec.json.Decoder(ChangeEvent)


def encode_event(event: ChangeEvent) -> bytes:
    """Encode an event to its JSON wire form."""
    return _encoder.encode(event)


def decode_event(payload: bytes) -> ChangeEvent:
    """Decode the wire form, refusing unknown envelope versions with :class:`CodecError`."""
    try:
        event = _decoder.decode(payload)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise CodecError(f"undecodable change event: {exc}") from exc
    if event.schema_version != SCHEMA_VERSION:
        raise CodecError(
            f"change event schema_version {event.schema_version} is not supported "
            f"(this build reads {SCHEMA_VERSION})"
        )
    return event
