"""Types of the region consumer's compiled planning (``consumers/_plan.c``)."""

from collections.abc import Callable
from typing import Any

def setup(decode: Callable[[bytes], Any], decide_one: Callable[[Any, Any, Any], Any],
          commit_time: Callable[[Any, str | None], float | None],
          encode: Callable[[Any], bytes], action_type: type[Any], origin_type: type[Any]
          ) -> None: ...
def plan(records: list[Any], rules: dict[str, Any], plan: Any, fast: bool = True) -> None: ...
def evalsha(sha: bytes, keys: list[str], args: list[bytes], start: int, stop: int
            ) -> bytes: ...
