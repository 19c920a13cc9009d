"""`cachesync demo` end to end on the test stack: a short run, as `make demo` runs it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from cachesync.stack import Stack
from tests.integration.consumer_support import listed_topics

REPO = Path(__file__).resolve().parents[2]
CACHESYNC = str(Path(sys.executable).with_name("cachesync"))


def _process_groups() -> set[int]:
    """The process group of every process on the machine."""
    groups = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue  # it exited while we looked
        groups.add(int(fields[2]))
    return groups


def _topics_left(stack: Stack, topics: set[str]) -> set[str]:
    """Which of ``topics`` the broker still lists."""
    return topics & asyncio.run(listed_topics(stack.info().kafka_bootstrap))


def test_a_short_demo_is_consistent_shows_figures_and_leaves_nothing(
        stack_control: Stack) -> None:
    base_port = os.environ.get("CACHESYNC_TEST_BASE_PORT", "23300")
    result = subprocess.run(
        [CACHESYNC, "demo", "--duration", "10", "--rate", "150", "--max-rows", "4",
         "--read-rate", "100", "--users", "300", "--inspect-sample-rate", "0.5",
         "--stack-dir", str(stack_control.data_dir), "--base-port", base_port],
        capture_output=True, text=True, timeout=240, cwd=REPO, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    # stdout is not a terminal here: plain live lines every 5 s, during the workload
    live = [line for line in out.splitlines() if re.match(r"\[\s*\d+s workload\] ", line)]
    assert live, out
    assert "east" in live[-1] and "binlog lag" in live[-1]
    assert "result: every region is consistent with the database" in out

    found = re.search(r"^summary: (\S+), worker logs", out, re.MULTILINE)
    assert found, out
    summary = json.loads(Path(found.group(1)).read_text())
    assert summary["consistency"]["drift"] == 0
    assert summary["consistency"]["rows_scanned"] > 0
    assert summary["workload"]["rows"] > 0
    assert sum(summary["reads"].values()) > 0
    assert summary["reads"].get("hit", 0) + summary["reads"].get("filled", 0) > 0
    for region in ("east", "west"):
        # every row change reached every region (a pk move is two events)
        assert summary["regions"][region]["events"] >= summary["workload"]["rows"]
        assert summary["regions"][region]["dlq"] == 0
        # commit→applied on the row clock (updated_at) of every applied event
        assert summary["regions"][region]["latency_observations"] > 0
        assert 0 < summary["regions"][region]["p50_s"] <= summary["regions"][region]["p99_s"]
    # the inspector checked sampled events in every region, within each window
    inspector = summary["inspector"]
    assert inspector is not None and inspector["events"]["sampled"] > 0
    for region in ("east", "west"):
        windows = inspector["regions"][region]
        assert windows and all(figures["checked"] > 0 for figures in windows.values())
    plot = Path(summary["plot"])
    assert plot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and plot.stat().st_size > 10_000

    # every worker ran in a process group of its own; none of them is left
    children = summary["children"]
    assert set(children) == {"cdc", "consumer-east", "consumer-west", "inspector"}
    assert not set(children.values()) & _process_groups()
    # the stack was running before the demo: it is left running
    assert all(stack_control.pid(name) is not None for name in stack_control.SERVICES)
    # a consistent run deletes its topics
    topic = f"cachesync.demo.{summary['run_id']}"
    assert _topics_left(stack_control, {topic, f"{topic}.dlq"}) == set()


def test_ctrl_c_stops_every_worker_and_exits_130(stack_control: Stack) -> None:
    base_port = os.environ.get("CACHESYNC_TEST_BASE_PORT", "23300")
    demo = subprocess.Popen(
        [CACHESYNC, "demo", "--duration", "120", "--rate", "50", "--users", "100",
         "--stack-dir", str(stack_control.data_dir), "--base-port", base_port],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )
    try:
        assert demo.stdout is not None
        for line in demo.stdout:  # the first live line: every worker is running
            if re.match(r"\[\s*\d+s workload\] ", line):
                break
        demo.send_signal(signal.SIGINT)
        _, err = demo.communicate(timeout=120)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert demo.returncode == 130, err[-3000:]
    assert "stopped by SIGINT" in err
    started = {int(pid) for pid in re.findall(r"started \S+ \(pid (\d+),", err)}
    assert len(started) >= 3  # cdc and a consumer per region
    assert not started & _process_groups()
    assert all(stack_control.pid(name) is not None for name in stack_control.SERVICES)
    created = set(re.findall(r"created topic (cachesync\.demo\.\S+) with", err))
    assert len(created) == 2, err[-3000:]  # the change topic and its dead-letter topic
    assert _topics_left(stack_control, created) == set()
