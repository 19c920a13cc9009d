"""keep_running: a workload thread survives lost connections and stops when told."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from cachesync.supervise import keep_running


def test_a_lost_connection_calls_the_loop_again_and_is_counted() -> None:
    stop, lock, restarts = threading.Event(), threading.Lock(), Counter[str]()
    calls: list[int] = []

    def loop() -> None:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("gone")

    keep_running("writer", loop, stop, restarts, lock, retry_s=0)
    assert len(calls) == 3
    assert restarts == Counter({"writer": 2})


def test_stop_ends_the_retries() -> None:
    stop, lock, restarts = threading.Event(), threading.Lock(), Counter[str]()

    def loop() -> None:
        stop.set()
        raise OSError("refused")

    keep_running("reader", loop, stop, restarts, lock, retry_s=0)
    assert restarts == Counter({"reader": 1})


def test_other_errors_are_not_swallowed() -> None:
    stop, lock, restarts = threading.Event(), threading.Lock(), Counter[str]()

    def loop() -> None:
        raise ValueError("a bug, not a lost connection")

    with pytest.raises(ValueError, match="a bug"):
        keep_running("reader", loop, stop, restarts, lock, retry_s=0)
    assert not restarts
