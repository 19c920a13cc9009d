"""GTID state and the acknowledged-prefix checkpoint."""

from __future__ import annotations

import pytest

from cdc.position import (
    AckTracker,
    Flavor,
    GtidState,
    Position,
    SourceIdentity,
    StreamRewound,
    TxnCursor,
)


@pytest.mark.parametrize(
    ("state", "gtid", "expected"),
    [
        (None, "0-1-5", "0-1-5"),
        ("", "0-1-5", "0-1-5"),
        ("0-1-5", "0-1-6", "0-1-6"),
        ("0-1-5", "1-2-3", "0-1-5,1-2-3"),
        ("1-2-3,0-1-5", "0-2-9", "0-2-9,1-2-3"),
        ("1-2-3, 10-1-1,2-1-1", "0-1-1", "0-1-1,1-2-3,2-1-1,10-1-1"),  # by number
    ],
)
def test_mariadb_gtid_state(state: str | None, gtid: str, expected: str) -> None:
    gtids = GtidState(state, "mariadb")
    assert gtids.advance(gtid) == expected
    assert gtids.text == expected
    assert gtids.contains(gtid)


def test_mariadb_gtid_state_keeps_advancing() -> None:
    gtids = GtidState(None, "mariadb")
    for seq in range(1, 4):
        assert not gtids.contains(f"0-1-{seq}")
        assert gtids.advance(f"0-1-{seq}") == f"0-1-{seq}"
    assert gtids.advance("1-1-1") == "0-1-3,1-1-1"
    assert gtids.advance("0-1-4") == "0-1-4,1-1-1"
    assert gtids.contains("0-1-2") and not gtids.contains("1-1-2")


def test_mysql_gtid_set_grows() -> None:
    uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
    assert GtidState(f"{uuid}:1-5", "mysql").advance(f"{uuid}:6") == f"{uuid}:1-6"


@pytest.mark.parametrize("bad", ["0-1", "a-b-c", "0-1-2-3", "-1-2", "0--2", ""])
def test_bad_mariadb_gtid(bad: str) -> None:
    with pytest.raises(ValueError, match="not a MariaDB GTID"):
        GtidState(None, "mariadb").advance(bad)
    with pytest.raises(ValueError, match="not a MariaDB GTID"):
        GtidState("0-1-1", "mariadb").contains(bad)


def test_a_bad_mariadb_state_is_refused() -> None:
    with pytest.raises(ValueError, match="not a MariaDB GTID"):
        GtidState("0-1-1,x", "mariadb")


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


def _cursor(gtid: str | None = "0-1-10", row_index: int = 0) -> TxnCursor:
    return TxnCursor(Position(gtid, "b.000001", 4, row_index), "mariadb")


def test_rows_are_numbered_from_one_and_commit_advances_the_state() -> None:
    cursor = _cursor()
    cursor.begin("0-1-11", explicit=True)
    assert [cursor.row() for _ in range(3)] == [1, 2, 3]
    assert cursor.commit() == "0-1-11"
    assert cursor.state == "0-1-11"
    cursor.begin("0-1-12", explicit=True)
    assert cursor.row() == 1


def test_resume_inside_a_transaction_skips_exactly_the_delivered_rows() -> None:
    cursor = _cursor(row_index=2)
    cursor.begin("0-1-11", explicit=True)
    assert [cursor.row() for _ in range(4)] == [0, 0, 3, 4]
    cursor.commit()
    cursor.begin("0-1-12", explicit=True)
    assert cursor.row() == 1  # the skip applies to the first transaction only


def test_rows_before_the_first_gtid_are_skipped() -> None:
    cursor = _cursor()
    assert cursor.row() == 0
    assert cursor.commit() is None


@pytest.mark.parametrize("gtid", ["0-1-10", "0-1-3", "0-2-9"])
def test_a_stream_that_goes_back_is_refused(gtid: str) -> None:
    with pytest.raises(StreamRewound, match=gtid):
        _cursor().begin(gtid, explicit=True)


def test_a_new_domain_is_not_a_rewind() -> None:
    cursor = _cursor()
    cursor.begin("1-5-1", explicit=True)
    assert cursor.commit() == "0-1-10,1-5-1"


@pytest.mark.parametrize(
    ("explicit", "queries", "ends_at"),
    [
        # MariaDB DDL: the GTID event is standalone, the statement ends it.
        (False, ["ALTER TABLE t ADD c INT"], 0),
        # MariaDB non-transactional DML: BEGIN ... COMMIT as query events.
        (True, ["SAVEPOINT `a`", "ROLLBACK TO `a`", "COMMIT"], 2),
        (True, ["ROLLBACK"], 0),
        # MySQL: the GTID event is followed by a BEGIN query.
        (False, ["BEGIN", "SAVEPOINT s", "COMMIT"], 2),
        (False, ["BEGIN", "rollback to savepoint s", "rollback"], 2),
    ],
)
def test_which_query_ends_a_transaction(explicit: bool, queries: list[str],
                                        ends_at: int) -> None:
    cursor = _cursor()
    cursor.begin("0-1-11", explicit=explicit)
    results = [cursor.query(sql) for sql in queries]
    assert results == [("0-1-11" if i == ends_at else None) for i in range(len(queries))]


@pytest.mark.parametrize(
    ("state", "gtid", "flavor", "contained"),
    [
        (None, "0-1-1", "mariadb", False),
        ("0-1-5", "0-1-5", "mariadb", True),
        ("0-1-5", "0-2-6", "mariadb", False),
        ("0-1-5,1-1-9", "1-1-9", "mariadb", True),
        ("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5", "3e11fa47-71ca-11e1-9e33-c80aa9429562:5",
         "mysql", True),
        ("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5", "3e11fa47-71ca-11e1-9e33-c80aa9429562:6",
         "mysql", False),
    ],
)
def test_gtid_contained(state: str | None, gtid: str, flavor: Flavor, contained: bool) -> None:
    assert GtidState(state, flavor).contains(gtid) is contained


def test_acknowledged_sends_are_counted() -> None:
    tracker = AckTracker(Position("0-1-1", "b.000001", 100))
    tracker.push(lambda: True, Position("0-1-1", "b.000001", 200, 1))
    tracker.push(None, Position("0-1-2", "b.000001", 400))
    tracker.advance()
    assert tracker.acked_sends == 1


@pytest.mark.parametrize(
    ("known", "server_id", "server_uuid", "expected"),
    [
        (SourceIdentity(1, None, 0), 1, None, SourceIdentity(1, None, 0)),
        (SourceIdentity(1, None, 3), 2, None, SourceIdentity(2, None, 4)),
        (SourceIdentity(1, "u-1", 0), 1, "u-1", SourceIdentity(1, "u-1", 0)),
        # MySQL: a new server_uuid is a new server even with the same server_id.
        (SourceIdentity(1, "u-1", 0), 1, "u-2", SourceIdentity(1, "u-2", 1)),
    ],
)
def test_a_different_source_identity_starts_the_next_epoch(
        known: SourceIdentity, server_id: int, server_uuid: str | None,
        expected: SourceIdentity) -> None:
    assert known.now(server_id, server_uuid) == expected
