"""``cachesync config check``."""

from __future__ import annotations

import click

from cachesync.settings_cli import load_or_exit


@click.group()
def config() -> None:
    """Configuration files."""


@config.command("check")
@click.argument("path", type=click.Path(dir_okay=False))
def check(*, path: str) -> None:
    """Validate a configuration file; exit 2 naming each bad field and why."""
    settings = load_or_exit(path)
    click.echo(
        f"{path}: ok ({len(settings.tables)} tables, regions {', '.join(settings.regions)}, "
        f"source {settings.source.dsn})"
    )
