"""Shared CLI plumbing: the ``--config`` option and loading settings with a clean exit."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from schemas.config import ConfigError, Settings, load_settings

F = TypeVar("F", bound=Callable[..., object])


def config_option(func: F) -> F:
    """``--config FILE`` (env ``CACHESYNC_CONFIG``)."""
    return click.option(
        "--config",
        "config_path",
        required=True,
        envvar="CACHESYNC_CONFIG",
        show_envvar=True,
        type=click.Path(dir_okay=False),
        help="Configuration file (TOML or YAML); CACHESYNC_SECTION__FIELD overrides a field.",
    )(func)


def load_or_exit(path: str) -> Settings:
    """Load settings or exit with status 2 and the validation message."""
    try:
        return load_settings(path)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
