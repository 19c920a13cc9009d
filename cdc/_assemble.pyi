"""Types of the CDC worker's compiled assembling (``cdc/_assemble.c``)."""

from typing import Any

def murmur2(data: bytes) -> int: ...
def rows(records: list[tuple[Any, ...]], start: int, out: list[Any], txn: tuple[Any, ...]
         ) -> int: ...
