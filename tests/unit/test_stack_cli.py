"""``cachesync stack``: options, environment and exit codes, without starting anything."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from cachesync.stack import Stack, StackError
from cachesync.stack.cli import stack


def test_help_names_the_environment_variables() -> None:
    result = CliRunner().invoke(stack, ["--help"])
    assert result.exit_code == 0
    assert "CACHESYNC_STACK_DIR" in result.output
    assert "CACHESYNC_STACK_BASE_PORT" in result.output


def test_status_of_a_stack_that_is_not_running_fails(tmp_path: Path) -> None:
    result = CliRunner().invoke(stack, ["status"], env={"CACHESYNC_STACK_DIR": str(tmp_path),
                                                        "CACHESYNC_STACK_BASE_PORT": "41300"})
    assert result.exit_code == 1
    lines = result.output.splitlines()[1:]
    assert [line.split()[:3] for line in lines] == [
        ["mariadb", "41306", "-"], ["kafka", "41392", "-"],
        ["redis-east", "41379", "-"], ["redis-west", "41380", "-"],
    ]
    assert all("DOWN" in line for line in lines)


def test_options_on_the_command_override_the_group_and_environment(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        stack, ["--base-port", "41300", "status", "--base-port", "42300", "--data-dir",
                str(tmp_path)],
        env={"CACHESYNC_STACK_DIR": str(tmp_path / "elsewhere"),
             "CACHESYNC_STACK_BASE_PORT": "43300"},
    )
    assert result.exit_code == 1
    lines = result.output.splitlines()[1:]
    assert [line.split()[1] for line in lines] == ["42306", "42392", "42379", "42380"]
    assert str(tmp_path / "mariadb" / "mariadb.log") in lines[0]


def test_down_of_a_stack_that_is_not_running_is_a_no_op(tmp_path: Path) -> None:
    result = CliRunner().invoke(stack, ["--data-dir", str(tmp_path), "down"])
    assert result.exit_code == 0
    assert "nothing was running" in result.output


def test_base_port_is_range_checked() -> None:
    result = CliRunner().invoke(stack, ["--base-port", "80", "status"])
    assert result.exit_code == 2


@pytest.mark.parametrize("call", [Stack.start_service, Stack.stop_service])
def test_unknown_service_names_the_known_ones(
    tmp_path: Path, call: Callable[[Stack, str], object]
) -> None:
    control = Stack(tmp_path, 41300)
    with pytest.raises(StackError, match="redis-east"):
        call(control, "redis-north")

