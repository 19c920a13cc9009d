"""What ``cachesync stack install`` checks before it runs anything."""

from __future__ import annotations

import pytest

from cachesync.stack.services import java_major


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_402"', 8),
        ("bash: java: command not found", None),
    ],
)
def test_java_major_version(output: str, major: int | None) -> None:
    assert java_major(output) == major
