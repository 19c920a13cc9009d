"""The one ``cachesync`` command; each part registers its subcommands here."""

from __future__ import annotations

import importlib
from typing import Final

import click

from cachesync.logs import setup_logging

_COMMANDS: Final = {
    "stack": "cachesync.stack.cli:stack",
    "config": "cachesync.config_cli:config",
    "db": "cachesync.db:db",
    "reconcile": "reconciler.cli:reconcile",
    "replay": "reconciler.cli:replay",
    "consume": "consumers.cli:consume",
    "cdc": "cdc.cli:cdc",
    "demo": "cachesync.demo:demo",
    "inspect": "cachesync.inspector.cli:inspect",
}
"""Subcommand → ``module:attribute`` of its click command."""


class _LazyGroup(click.Group):
    """Imports a subcommand's module only when that subcommand is used (or listed by
    ``--help``): a long-running worker holds only its own part of the code in memory."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        spec = _COMMANDS.get(cmd_name)
        if spec is None:
            return super().get_command(ctx, cmd_name)
        module, _, attribute = spec.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "CACHESYNC"}
)
@click.option("--log-level", default="INFO", show_default=True, show_envvar=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@click.option("--log-json/--no-log-json", default=False, show_envvar=True,
              help="Structured JSON log lines on stderr.")
def main(*, log_level: str, log_json: bool) -> None:
    """cachesync: keep Redis caches in several regions consistent with a MySQL binlog."""
    setup_logging(log_level, json_lines=log_json)

