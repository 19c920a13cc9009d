"""The torture run's attribution of lost ledger ids to fault windows."""

from __future__ import annotations

import pytest

from bench.torture import losses_by_window


@pytest.mark.parametrize(
    ("missing", "starts", "expected"),
    [
        ([], [1, 10, 20], [0, 0, 0]),
        ([1, 9], [1, 10, 20], [2, 0, 0]),
        ([10, 19, 20, 500], [1, 10, 20], [0, 2, 2]),
        ([3], [5, 10], [1, 0]),  # before the first window: counted in the first
        ([10, 11], [1, 10, 10, 12], [0, 0, 2, 0]),  # an empty window (no ids) keeps 0
    ],
)
def test_losses_by_window(missing: list[int], starts: list[int], expected: list[int]) -> None:
    assert losses_by_window(missing, starts) == expected
