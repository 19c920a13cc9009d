"""The CDC benchmark's Debezium baseline runs over a binlog range on the real stack."""

from __future__ import annotations

from bench import cdc_throughput, debezium_rate
from cachesync.stack import StackInfo


def test_debezium_counts_the_range_rows_once(stack: StackInfo) -> None:
    # Written before Debezium starts: it must begin at the range's start, not at the server's
    # current position (where it would see nothing and time out).
    span = cdc_throughput.build(stack.mariadb_port, "dbz_test", 500, 1)
    run = debezium_rate.measure(stack.mariadb_port, span, server_id=424_242)
    assert run.rows == span.rows == 500
    assert run.seconds > 0
