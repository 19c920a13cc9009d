"""What the benchmarks read about processes from ``/proc``, and their common options."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def add_stack_options(parser: argparse.ArgumentParser, data_dir: str, base_port: int) -> None:
    """``--stack-dir`` and ``--base-port`` of the local stack a benchmark runs on; defaults from
    the test stack's environment (``CACHESYNC_TEST_STACK_DIR``, ``CACHESYNC_TEST_BASE_PORT``),
    else the benchmark's own ``.cachesync/<data_dir>`` and ``base_port``."""
    parser.add_argument("--stack-dir", default=os.environ.get(
        "CACHESYNC_TEST_STACK_DIR", str(REPO / ".cachesync" / data_dir)))
    parser.add_argument("--base-port", type=int,
                        default=int(os.environ.get("CACHESYNC_TEST_BASE_PORT", str(base_port))))


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants now (a process that exits meanwhile is skipped)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue  # exited meanwhile
    return found


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kb(pid: int, field_name: str) -> int | None:
    """A kB field of ``/proc/PID/status`` (``"VmRSS:"``, ``"VmHWM:"``); None once the process
    is gone or has no such field (a zombie has no memory)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name):
                return int(line.split()[1])
    except OSError:
        return None
    return None
