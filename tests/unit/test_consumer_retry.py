"""Retrying a region's failed Redis calls (consumers/worker.py: _with_retry)."""

from __future__ import annotations

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from consumers import metrics
from consumers.store import FenceRefused
from consumers.worker import _with_retry
from schemas.actions import Outcome


class _Flaky:
    """A call that fails ``failures`` times with ``error``, then returns its call count."""

    def __init__(self, failures: int, error: BaseException) -> None:
        self.calls = 0
        self._failures = failures
        self._error = error

    async def __call__(self) -> int:
        self.calls += 1
        if self.calls <= self._failures:
            raise self._error
        return self.calls


def _retries(region: str) -> float:
    return metrics.RETRIES.labels(region)._value.get()  # type: ignore[no-any-return]


@pytest.mark.parametrize("failures", [0, 1, 2])
async def test_whole_call_failures_are_retried_until_it_succeeds(failures: int) -> None:
    region = f"retry-{failures}"
    call = _Flaky(failures, RedisConnectionError("connection refused"))
    assert await _with_retry(region, "apply", call) == failures + 1
    assert call.calls == failures + 1
    assert _retries(region) == failures


@pytest.mark.parametrize("error", [
    FenceRefused([Outcome.FENCED], {0: "WRONGTYPE"}),  # the events' problem: dead letters
    ValueError("a bug, not Redis"),
])
async def test_refusals_and_other_errors_are_not_retried(error: BaseException) -> None:
    call = _Flaky(1, error)
    with pytest.raises(type(error)):
        await _with_retry("retry-none", "apply", call)
    assert call.calls == 1
    assert _retries("retry-none") == 0
