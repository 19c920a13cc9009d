"""``cachesync stack up | status | down | install``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from cachesync.stack import layout
from cachesync.stack.services import Stack, StackError, check_binaries, fetch_kafka_jars


@dataclass(frozen=True)
class _Target:
    data_dir: Path
    base_port: int

    def stack(self) -> Stack:
        return Stack(self.data_dir, self.base_port)


@click.group()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
              default=layout.DEFAULT_DATA_DIR, show_default=True, envvar="CACHESYNC_STACK_DIR",
              show_envvar=True, help="Where the stack keeps data, logs and pid files.")
@click.option("--base-port", type=click.IntRange(1024, 65000), default=layout.DEFAULT_BASE_PORT,
              show_default=True, envvar="CACHESYNC_STACK_BASE_PORT", show_envvar=True,
              help="MariaDB listens on base+6, Kafka on base+92, Redis east/west on base+79/80.")
@click.pass_context
def stack(ctx: click.Context, *, data_dir: Path, base_port: int) -> None:
    """The local stack: MariaDB, Apache Kafka (KRaft) and one Redis per region, on loopback."""
    ctx.obj = _Target(data_dir, base_port)


def _target(ctx: click.Context) -> Stack:
    target = ctx.find_object(_Target)
    assert target is not None
    return target.stack()


@stack.command()
@click.pass_context
def up(ctx: click.Context) -> None:
    """Start what is not running and wait until every service answers (idempotent)."""
    try:
        info = _target(ctx).up()
    except StackError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"stack up in {info.data_dir}")
    click.echo(f"  mariadb  127.0.0.1:{info.mariadb_port} (databases app, cachesync)")
    click.echo(f"  kafka    {info.kafka_bootstrap} (Apache Kafka {layout.KAFKA_VERSION}, KRaft)")
    for region, url in info.redis_urls.items():
        click.echo(f"  redis    {url} (region {region})")


@stack.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Each service's port, pid and health; exit 1 if any is down."""
    rows = _target(ctx).status()
    click.echo(f"{'service':12} {'port':>6} {'pid':>8}  health")
    for row in rows:
        pid = str(row.pid) if row.pid is not None else "-"
        health = "healthy" if row.healthy else f"DOWN (log: {row.log_file})"
        click.echo(f"{row.name:12} {row.port:>6} {pid:>8}  {health}")
    if not all(row.healthy for row in rows):
        ctx.exit(1)


@stack.command()
@click.pass_context
def down(ctx: click.Context) -> None:
    """Stop the processes `up` started (and nothing else)."""
    stopped = _target(ctx).down()
    click.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@stack.command()
def install() -> None:
    """Check the services' programs and fetch the Kafka jars (once)."""
    try:
        check_binaries()
        jars = fetch_kafka_jars()
    except StackError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Apache Kafka {layout.KAFKA_VERSION} jars in {jars}")
