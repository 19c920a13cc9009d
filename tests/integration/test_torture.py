"""The torture run's short variant (``bench/torture.py``) against the test stack.

One fault of each kind that is quick to inject: a CDC SIGKILL inside a 100,000-row
transaction (large enough that the worker, at 150-200k rows/s, saves a checkpoint inside
it; a 10,000-row one went by between two checkpoints), a consumer SIGKILL, a 5 s Redis
outage of one region, a MariaDB restart and an ALTER TABLE, under a light workload with
racing cache-aside fills. The Kafka broker restart and the 1 → 3 → 1 rescaling take too
long for ``make test``; the full bench runs them.

It runs on the shared test stack (the tests run one at a time): the run uses its own topic,
checkpoint, tables (``app.users``, ``app.profiles``, ``app.balances``, ``app.torture_*``,
which no other test uses) and flushes the regions' Redis first, which other tests do not
rely on across tests. Every service it stops is started again and healthy before each
fault's checks, so later tests find the stack up.
"""

from __future__ import annotations

import json
import subprocess
import sys

from cachesync.stack import Stack
from cachesync.stack.layout import Ports
from tests.integration.conftest import REPO

FAULTS = ("cdc-kill-big-txn", "consumer-kill", "redis-outage", "mariadb-restart", "alter-table")


def test_short_torture_run_loses_nothing_and_leaves_nothing_stale(stack_control: Stack) -> None:
    base_port = stack_control.ports.mariadb - 6
    assert Ports.from_base(base_port) == stack_control.ports
    result = subprocess.run(
        [sys.executable, "-m", "bench.torture", "--stack-dir", str(stack_control.data_dir),
         "--base-port", str(base_port), "--faults", ",".join(FAULTS),
         "--big-txn-rows", "100000", "--redis-outage-s", "5", "--partitions", "4",
         "--rate", "60", "--writers", "2", "--read-rate", "20", "--ledger-rate", "20",
         "--users", "500", "--warmup-s", "1", "--gap-s", "1", "--recover-timeout-s", "150",
         "--caught-up-lag-s", "5",
         "--seed", "7"],
        cwd=REPO, capture_output=True, text=True, check=False, timeout=540,
    )
    output = result.stdout + "\n" + result.stderr[-4000:]
    assert result.returncode == 0, output
    lines = result.stdout.strip().splitlines()
    summary = json.loads(lines[-1])
    assert summary == {"faults": len(FAULTS), "lost": 0, "stale_after_5s": 0,
                       "unplanned_exits": 0}, output
    table = [line.split() for line in lines if line[:2].strip().isdigit()]
    assert [row[1] for row in table] == list(FAULTS), output
    # Every fault recovered (a number, not "timeout") with 0 lost and 0 stale.
    assert all(float(row[2]) >= 0 and row[3] == "0" and row[4] == "0" for row in table), output
    assert "SIGKILL inside a 100000-row transaction" in result.stdout, output
    for service in Stack.SERVICES:
        assert stack_control.healthy(service), f"{service} is not back up after the run"
