"""``cachesync consume``: a bad instance id is refused, naming the option, before anything
starts (no Kafka or Redis is reachable here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cachesync.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.toml"


@pytest.mark.parametrize("instance_id", ["", "east 0", "east/0", "é", "x" * 250])
def test_a_bad_instance_id_is_refused(instance_id: str) -> None:
    result = CliRunner().invoke(main, ["consume", "--config", str(EXAMPLE), "--region", "east",
                                       "--instance-id", instance_id])
    assert result.exit_code == 2
    assert "--instance-id" in result.output


def test_the_instance_id_comes_from_the_environment_too() -> None:
    result = CliRunner().invoke(main, ["consume", "--config", str(EXAMPLE), "--region", "east"],
                                env={"CACHESYNC_CONSUMER_INSTANCE_ID": "east 0"})
    assert result.exit_code == 2
    assert "--instance-id" in result.output
