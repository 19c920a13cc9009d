"""GTID state and the acknowledged-prefix checkpoint."""

from __future__ import annotations

import pytest

from cdc.position import AckTracker, Position, advance_gtid


@pytest.mark.parametrize(
    ("state", "gtid", "expected"),
    [
        (None, "0-1-5", "0-1-5"),
        ("0-1-5", "0-1-6", "0-1-6"),
        ("0-1-5", "1-2-3", "0-1-5,1-2-3"),
        ("1-2-3,0-1-5", "0-2-9", "0-2-9,1-2-3"),
    ],
)
def test_mariadb_gtid_state(state: str | None, gtid: str, expected: str) -> None:
    assert advance_gtid(state, gtid, "mariadb") == expected


def test_mysql_gtid_set_grows() -> None:
    uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
    state = advance_gtid(f"{uuid}:1-5", f"{uuid}:6", "mysql")
    assert state == f"{uuid}:1-6"


@pytest.mark.parametrize("bad", ["0-1", "a-b-c", "0-1-2-3"])
def test_bad_mariadb_gtid(bad: str) -> None:
    with pytest.raises(ValueError, match="not a MariaDB GTID"):
        advance_gtid(None, bad, "mariadb")


def test_checkpoint_is_the_acknowledged_prefix() -> None:
    start = Position("0-1-1", "b.000001", 100)
    tracker = AckTracker(start)
    done = {1: False, 2: False}
    tracker.push(lambda: done[1], Position("0-1-1", "b.000001", 200, 1))
    tracker.push(lambda: done[2], Position("0-1-1", "b.000001", 200, 2))
    tracker.push(None, Position("0-1-2", "b.000001", 400))
    assert tracker.advance() == start
    done[2] = True  # acknowledged out of order: the checkpoint may not jump past row 1
    assert tracker.advance() == start
    done[1] = True
    assert tracker.advance() == Position("0-1-2", "b.000001", 400)
    assert len(tracker) == 0
