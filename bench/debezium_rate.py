"""Debezium's MariaDB connector as the CDC benchmark's baseline: its capture rate over a range.

Debezium 3.x runs through its embedded engine in a small Java harness
(``bench/debezium/src/dev/cachesync/bench/DebeziumRate.java``): file offsets and file schema
history in a temporary directory, ``snapshot.mode=no_data``, the range's table only, records
counted in the Connect format, timed from the first record. The engine and what the
connector needs come from Maven Central (``bench/debezium/pom.xml``), fetched once into
``~/.cache/cachesync/debezium-VERSION/jars``; ``debezium-connector-mariadb`` itself is not
served there, so its source, the release's own (``bench/debezium/connector-mariadb``), is
compiled with the harness by javac into ``.../classes-HASH`` (recompiled when a source
changes).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from cachesync.stack import layout
from cachesync.stack.process import locked
from cachesync.stack.services import fetch_maven_jars, program_path

if TYPE_CHECKING:
    from bench.cdc_throughput import Range

log = logging.getLogger(__name__)

DEBEZIUM_VERSION: Final = "3.6.1.Final"
HERE: Final = Path(__file__).resolve().parent / "debezium"
POM: Final = HERE / "pom.xml"
SOURCES: Final = (HERE / "src", HERE / "connector-mariadb" / "src" / "main" / "java")
RESOURCES: Final = HERE / "connector-mariadb" / "src" / "main" / "resources"
MAIN_CLASS: Final = "dev.cachesync.bench.DebeziumRate"


class DebeziumError(RuntimeError):
    """The Debezium baseline could not be built or run (a failed fetch raises ``StackError``)."""


def cache_dir() -> Path:
    """Where the jars and the compiled classes are kept (``CACHESYNC_DEBEZIUM_CACHE`` overrides)."""
    override = os.environ.get("CACHESYNC_DEBEZIUM_CACHE")
    if override:
        return Path(override)
    return Path.home() / ".cache" / "cachesync" / f"debezium-{DEBEZIUM_VERSION}"


def fetch_jars() -> Path:
    """Debezium's jars from Maven Central, fetched once."""
    return fetch_maven_jars(POM, cache_dir() / "jars", "Debezium",
                            {"debezium.version": DEBEZIUM_VERSION})


def _java_files() -> list[Path]:
    return sorted(path for root in SOURCES for path in root.rglob("*.java"))


def _sources_digest() -> str:
    digest = hashlib.sha256(DEBEZIUM_VERSION.encode())
    for path in [*_java_files(), *sorted(p for p in RESOURCES.rglob("*") if p.is_file())]:
        digest.update(str(path.relative_to(HERE)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build() -> str:
    """The harness's class path: the jars and the classes compiled from the current sources."""
    jars = fetch_jars()
    classes = cache_dir() / f"classes-{_sources_digest()}"
    if not classes.exists():
        with locked(cache_dir() / ".lock"):
            if not classes.exists():
                _compile(jars, classes)
    return f"{jars}/*:{classes}"


def _compile(jars: Path, classes: Path) -> None:
    log.info("compiling the Debezium MariaDB connector and the harness into %s", classes)
    staging = Path(tempfile.mkdtemp(prefix=f".{classes.name}-", dir=classes.parent))
    try:
        sources = staging / "sources.txt"
        sources.write_text("".join(f"{path}\n" for path in _java_files()))
        result = subprocess.run(
            [_javac(), "-nowarn", "-encoding", "UTF-8", "-d", str(staging / "out"),
             "-cp", f"{jars}/*", f"@{sources}"],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            raise DebeziumError(f"javac failed:\n{result.stdout}{result.stderr}")
        shutil.copytree(RESOURCES, staging / "out", dirs_exist_ok=True)
        (staging / "out").rename(classes)  # whole or absent
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _javac() -> str:
    javac = shutil.which("javac")
    if javac is None:
        raise DebeziumError(
            "javac not found; install a JDK: apt-get install -y openjdk-17-jdk-headless "
            "(scripts/bootstrap.sh does this)"
        )
    return javac


@dataclass(frozen=True)
class DebeziumRun:
    rows: int
    """Insert records Debezium delivered for the range's table: each of its rows once."""
    seconds: float
    """From the first record to the last."""

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds


def measure(port: int, span: Range, server_id: int) -> DebeziumRun:
    """Debezium's capture of ``span`` (its inserts, from its start).

    ``server_id`` is the replica id Debezium connects with (distinct from other readers').
    Raises :class:`DebeziumError` if it fails, sees a row other than the range's rows or
    one twice, or times out.
    """
    classpath = build()
    # Generous: start-up (two engine runs) plus the range at 1,000 rows/s.
    timeout_s = 120 + span.rows // 1000
    with tempfile.TemporaryDirectory(prefix="cachesync-debezium-") as work:
        args = ["127.0.0.1", str(port), "root", "app", span.table, str(server_id),
                span.start_gtid, span.start_file, str(span.start_pos), str(span.rows),
                work, str(timeout_s)]
        try:
            result = subprocess.run(
                [program_path("java"), "-Xmx1g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                 "-cp", classpath, MAIN_CLASS, *args],
                capture_output=True, text=True, check=False, timeout=timeout_s + 60,
                env={**os.environ, "DEBEZIUM_BENCH_PASSWORD": layout.ROOT_PASSWORD},
            )
        except subprocess.TimeoutExpired as exc:
            raise DebeziumError(f"the Debezium harness did not finish in {exc.timeout:.0f} s") \
                from None
    if result.returncode != 0:
        raise DebeziumError(f"the Debezium harness failed:\n{result.stderr[-4000:]}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    return DebeziumRun(int(figures["rows"]), float(figures["seconds"]))
