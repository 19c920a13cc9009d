"""Types of the binlog reader's compiled core (``cdc/_binlog.c``)."""

from collections.abc import Callable
from typing import Any, Final

ITEM_GTID: Final[int]
ITEM_XID: Final[int]
ITEM_ROWS: Final[int]
STOP_MORE: Final[int]
STOP_SLOW: Final[int]
STOP_RAW: Final[int]
OP_PY: Final[int]
OP_I8: Final[int]
OP_U8: Final[int]
OP_I16: Final[int]
OP_U16: Final[int]
OP_I24: Final[int]
OP_U24: Final[int]
OP_I32: Final[int]
OP_U32: Final[int]
OP_I64: Final[int]
OP_U64: Final[int]
OP_F64: Final[int]
OP_YEAR: Final[int]
OP_UTF8: Final[int]
OP_DATETIME2: Final[int]
OP_DECIMAL: Final[int]

class Codec:
    def __init__(
        self,
        columns: list[tuple[str, int, int, Callable[[bytes, int], tuple[Any, int]] | None]],
    ) -> None: ...
    def images(self, data: bytes, pos: int, end: int) -> list[dict[str, Any]]: ...

def scan(buf: bytes, pos: int, seq: int, checksum: int, rows_ok: bool,
         tables: dict[int, tuple[Codec, bytes, Any]], limit: int
         ) -> tuple[list[Any], int, int, int]: ...
def parse(packet: bytes, checksum: int, rows_ok: bool,
          tables: dict[int, tuple[Codec, bytes, Any]]) -> Any: ...
def rows_span(packet: bytes, checksum: int, rows_ok: bool, columns: int
              ) -> tuple[int, int] | None: ...
