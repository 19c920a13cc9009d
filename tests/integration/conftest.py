"""Integration tests run against the real local stack, started once per session.

The stack's data dir and ports come from ``CACHESYNC_TEST_STACK_DIR`` and
``CACHESYNC_TEST_BASE_PORT`` (``make test`` sets them), so several checkouts or engineers can
run isolated stacks side by side. A stack that does not start fails the tests; it never
skips them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from cachesync.stack import Stack, StackError, StackInfo

REPO = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def stack_control() -> Iterator[Stack]:
    """The running test stack, for tests that stop and start its services."""
    data_dir = Path(os.environ.get("CACHESYNC_TEST_STACK_DIR", REPO / ".cachesync" / "test-stack"))
    control = Stack(data_dir, int(os.environ.get("CACHESYNC_TEST_BASE_PORT", "23300")))
    failure = None
    try:
        control.up()
    except StackError as exc:
        failure = str(exc)
    if failure is not None:  # fail, never skip: integration tests need the real services
        pytest.fail(f"the test stack did not start:\n{failure}", pytrace=False)
    yield control
    if os.environ.get("CACHESYNC_TEST_STACK_DOWN") == "1":
        control.down()


@pytest.fixture(scope="session")
def stack(stack_control: Stack) -> StackInfo:
    """How to reach the test stack's MariaDB, Kafka and Redis regions."""
    return stack_control.info()


@pytest.fixture
def mariadb_root(stack: StackInfo) -> Iterator[pymysql.Connection[pymysql.cursors.Cursor]]:
    """A root connection (autocommit) to the test stack's MariaDB."""
    conn = pymysql.connect(host="127.0.0.1", port=stack.mariadb_port, user="root",
                           password="cachesync-root", autocommit=True)
    yield conn
    conn.close()


def unique_name(prefix: str) -> str:
    """A name no other test uses: for topics, tables, consumer groups and key prefixes."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"
