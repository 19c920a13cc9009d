"""``cachesync inspect``: bad options are refused, naming the problem, before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cachesync.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.toml"


@pytest.mark.parametrize(("args", "named"), [
    (["--sample-rate", "0"], "--sample-rate"),
    (["--sample-rate", "1.5"], "--sample-rate"),
    (["--window", "0"], "--window"),
    (["--window", "soon"], "--window"),
    (["--duration", "-1"], "--duration"),
])
def test_bad_options_are_refused(args: list[str], named: str) -> None:
    result = CliRunner().invoke(main, ["inspect", "--config", str(EXAMPLE), *args])
    assert result.exit_code == 2
    assert named in result.output


def test_a_bad_configuration_names_the_field(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(EXAMPLE.read_text().replace('topic = "cachesync.changes"', 'topic = "a b"'))
    result = CliRunner().invoke(main, ["inspect", "--config", str(config)])
    assert result.exit_code == 2
    assert "kafka.topic" in result.output
