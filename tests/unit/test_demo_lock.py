"""One demo at a time per stack: a second one refuses to start (no services)."""

from __future__ import annotations

import os
from pathlib import Path

import click
import pytest

from cachesync.demo import one_demo_per_stack


def test_a_second_demo_on_the_same_stack_is_refused(tmp_path: Path) -> None:
    stack = tmp_path / "stack"
    with one_demo_per_stack(stack):
        with pytest.raises(click.ClickException) as refused, one_demo_per_stack(stack):
            pass
        message = refused.value.format_message()
        assert f"another demo is running on the stack in {stack} (pid {os.getpid()})" \
            in message
        with one_demo_per_stack(tmp_path / "other"):  # another stack is free
            pass
    with one_demo_per_stack(stack):  # released when the first one ended
        pass
