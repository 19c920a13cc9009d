"""``cachesync stack up | status | down | install``.

``--data-dir`` and ``--base-port`` go on the group (``cachesync stack --base-port 23300 up``)
or on the command (``cachesync stack up --base-port 23300``); the command's wins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from cachesync.stack import layout
from cachesync.stack.services import (
    Stack,
    StackError,
    check_binaries,
    check_java,
    fetch_kafka_jars,
)

F = TypeVar("F", bound=Callable[..., Any])

DATA_DIR_HELP = "Where the stack keeps data, logs, pid files and generated configuration."
BASE_PORT_HELP = ("MariaDB listens on base+6, Kafka on base+92 (controller base+93), "
                  "Redis east/west on base+79/base+80.")


@dataclass(frozen=True)
class _Target:
    data_dir: Path
    base_port: int


def _options(*options: Callable[[F], F]) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        for option in reversed(options):
            func = option(func)
        return func
    return decorate


_DATA_DIR = click.Path(file_okay=False, path_type=Path)
_BASE_PORT = click.IntRange(1024, 65000)
_on_group = _options(
    click.option("--data-dir", type=_DATA_DIR, default=layout.DEFAULT_DATA_DIR, show_default=True,
                 envvar="CACHESYNC_STACK_DIR", show_envvar=True, help=DATA_DIR_HELP),
    click.option("--base-port", type=_BASE_PORT, default=layout.DEFAULT_BASE_PORT,
                 show_default=True, envvar="CACHESYNC_STACK_BASE_PORT", show_envvar=True,
                 help=BASE_PORT_HELP),
)
_on_command = _options(  # no defaults here: given, they override the group's
    click.option("--data-dir", type=_DATA_DIR, help="Overrides `cachesync stack --data-dir`."),
    click.option("--base-port", type=_BASE_PORT, help="Overrides `cachesync stack --base-port`."),
)


@click.group()
@_on_group
@click.pass_context
def stack(ctx: click.Context, *, data_dir: Path, base_port: int) -> None:
    """The local stack: MariaDB, Apache Kafka (KRaft) and one Redis per region, on loopback."""
    ctx.obj = _Target(data_dir, base_port)


def _stack(ctx: click.Context, data_dir: Path | None, base_port: int | None) -> Stack:
    target = ctx.find_object(_Target)
    assert target is not None, "the stack group sets its target"
    return Stack(data_dir or target.data_dir,
                 base_port if base_port is not None else target.base_port)


@stack.command()
@_on_command
@click.pass_context
def up(ctx: click.Context, *, data_dir: Path | None, base_port: int | None) -> None:
    """Start what is not running and wait until every service answers (idempotent)."""
    try:
        info = _stack(ctx, data_dir, base_port).up()
    except StackError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"stack up in {info.data_dir}")
    click.echo(f"  mariadb  127.0.0.1:{info.mariadb_port} (databases app, cachesync)")
    click.echo(f"  kafka    {info.kafka_bootstrap} (Apache Kafka {layout.KAFKA_VERSION}, KRaft)")
    for region, url in info.redis_urls.items():
        click.echo(f"  redis    {url} (region {region})")


@stack.command()
@_on_command
@click.pass_context
def status(ctx: click.Context, *, data_dir: Path | None, base_port: int | None) -> None:
    """Each service's port, pid and health; exit 1 if any is down."""
    rows = _stack(ctx, data_dir, base_port).status()
    click.echo(f"{'service':12} {'port':>6} {'pid':>8}  health")
    for row in rows:
        pid = str(row.pid) if row.pid is not None else "-"
        health = "healthy" if row.healthy else f"DOWN (log: {row.log_file})"
        click.echo(f"{row.name:12} {row.port:>6} {pid:>8}  {health}")
    if not all(row.healthy for row in rows):
        ctx.exit(1)


@stack.command()
@_on_command
@click.pass_context
def down(ctx: click.Context, *, data_dir: Path | None, base_port: int | None) -> None:
    """Stop the processes `up` started (and nothing else)."""
    stopped = _stack(ctx, data_dir, base_port).down()
    click.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@stack.command()
def install() -> None:
    """Check the services' programs and fetch the Kafka jars (once)."""
    try:
        check_binaries()
        check_java()
        jars = fetch_kafka_jars()
    except StackError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Apache Kafka {layout.KAFKA_VERSION} jars in {jars}")
