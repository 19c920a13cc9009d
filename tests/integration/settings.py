"""Settings pointing at the test stack, for integration tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cachesync.stack import StackInfo
from schemas.config import Settings, parse_settings


def stack_config(
    stack: StackInfo,
    tables: dict[str, dict[str, Any]],
    *,
    topic: str = "cachesync.changes",
    partitions: int = 4,
    engine_database: str = "cachesync",
    source_name: str = "primary",
    server_id: int = 4201,
    **sections: dict[str, Any],
) -> dict[str, Any]:
    """Raw settings for the test stack: the least-privilege replication user, both regions."""
    raw: dict[str, Any] = {
        "source": {"dsn": stack.repl_dsn, "name": source_name, "server_id": server_id},
        "engine": {"database": engine_database},
        "kafka": {
            "bootstrap_servers": [stack.kafka_bootstrap],
            "topic": topic,
            "dlq_topic": f"{topic}.dlq",
            "partitions": partitions,
        },
        "regions": {name: {"redis_url": url} for name, url in stack.redis_urls.items()},
        "tables": tables,
    }
    raw.update(sections)
    return raw


def stack_settings(stack: StackInfo, tables: dict[str, dict[str, Any]], **options: Any
                   ) -> Settings:
    """Validated settings for the test stack (see :func:`stack_config`)."""
    return parse_settings(stack_config(stack, tables, **options))


def write_config(path: Path, stack: StackInfo, tables: dict[str, dict[str, Any]],
                 **options: Any) -> Path:
    """A config file for a `cachesync` subprocess (JSON is valid YAML)."""
    path.write_text(json.dumps(stack_config(stack, tables, **options), indent=2))
    return path
