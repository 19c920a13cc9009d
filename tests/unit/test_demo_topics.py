"""Which runs of the demo keep their Kafka topics afterwards."""

from __future__ import annotations

import pytest

from cachesync.demo import Outcome, keeps_topics


@pytest.mark.parametrize(("outcome", "asked", "kept"), [
    ("consistent", False, False),  # nothing to look into: deleted
    ("stopped", False, False),  # stopped by the user: deleted
    ("inconsistent", False, True),  # the events behind the drift stay readable
    ("failed", False, True),  # a step failed: the same
    ("consistent", True, True),  # --keep-topics
    ("stopped", True, True),
    ("inconsistent", True, True),
    ("failed", True, True),
])
def test_a_run_keeps_its_topics_when_asked_or_when_something_is_left_to_look_into(
        outcome: Outcome, asked: bool, kept: bool) -> None:
    assert keeps_topics(outcome, asked=asked) is kept
