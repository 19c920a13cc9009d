"""The one ``cachesync`` command; each part registers its subcommands here."""

from __future__ import annotations

import click

from cachesync.config_cli import config
from cachesync.db import db
from cachesync.demo import demo
from cachesync.inspector.cli import inspect
from cachesync.logs import setup_logging
from cachesync.stack.cli import stack
from cdc.cli import cdc
from consumers.cli import consume
from reconciler.cli import reconcile, replay


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "CACHESYNC"}
)
@click.option("--log-level", default="INFO", show_default=True, show_envvar=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@click.option("--log-json/--no-log-json", default=False, show_envvar=True,
              help="Structured JSON log lines on stderr.")
def main(*, log_level: str, log_json: bool) -> None:
    """cachesync: keep Redis caches in several regions consistent with a MySQL binlog."""
    setup_logging(log_level, json_lines=log_json)


main.add_command(stack)
main.add_command(config)
main.add_command(db)
main.add_command(reconcile)
main.add_command(replay)
main.add_command(consume)
main.add_command(cdc)
main.add_command(demo)
main.add_command(inspect)
