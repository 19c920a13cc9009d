"""Start, check and stop the local stack's services: MariaDB, Kafka (KRaft), two Redis."""

from __future__ import annotations

import base64
import contextlib
import logging
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pymysql
from pymysql.constants import ER

from cachesync.stack import layout, probes
from cachesync.stack.process import (
    locked,
    log_excerpt,
    log_size,
    read_log,
    running_pid,
    spawn,
    stop,
)

log = logging.getLogger(__name__)

POM: Final = Path(__file__).resolve().parents[2] / "compose" / "kafka" / "pom.xml"
START_TIMEOUT_S: Final = 90.0

PROGRAMS: Final = {"mariadb": "mariadbd", "kafka": "java"}
"""The program each service runs (``redis-server`` for the rest): part of a pid's identity."""

REQUIRED_BINARIES: Final = {
    "mariadbd": "mariadb-server",
    "mariadb-install-db": "mariadb-server",
    "redis-server": "redis-server",
    "java": "openjdk-17-jre-headless",
    "mvn": "maven",
}
MIN_JAVA: Final = 17
SBIN_PATH: Final = "/usr/local/sbin:/usr/sbin:/sbin"
"""Searched after ``PATH``: Debian puts ``mariadbd`` in /usr/sbin, which a user's PATH may lack."""


class StackError(RuntimeError):
    """A service could not be installed, started or stopped; the message says which."""


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    name: str
    port: int
    pid: int | None
    healthy: bool
    log_file: Path


def find_program(binary: str) -> str | None:
    return shutil.which(binary) or shutil.which(binary, path=SBIN_PATH)


def program_path(binary: str) -> str:
    """The path of a required program; a clear error naming its Debian package if absent."""
    path = find_program(binary)
    if path is None:
        raise StackError(
            f"{binary} not found; install it: apt-get install -y {REQUIRED_BINARIES[binary]}"
            " (scripts/bootstrap.sh does this)"
        )
    return path


def check_binaries() -> None:
    missing = sorted({pkg for binary, pkg in REQUIRED_BINARIES.items() if not find_program(binary)})
    if missing:
        raise StackError(
            f"missing programs; install the Debian packages: apt-get install -y {' '.join(missing)}"
            " (scripts/bootstrap.sh does this)"
        )


def java_major(version_output: str) -> int | None:
    """The major version in ``java -version``'s output: 17 for "17.0.15", 8 for "1.8.0_402"."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if match is None:
        return None
    major = int(match[1])
    return int(match[2]) if major == 1 and match[2] else major


def check_java() -> None:
    """Kafka 4 runs on Java 17 or newer; an older default ``java`` is named, not guessed at."""
    java = program_path("java")
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    output = result.stderr + result.stdout
    major = java_major(output)
    if major is None or major < MIN_JAVA:
        first_line = output.strip().splitlines()[0] if output.strip() else "nothing"
        raise StackError(
            f"Apache Kafka {layout.KAFKA_VERSION} needs Java {MIN_JAVA} or newer, but {java} "
            f"says {first_line!r}; apt-get install -y openjdk-17-jre-headless, then "
            "update-alternatives --config java"
        )


def fetch_kafka_jars() -> Path:
    """The Kafka jars from Maven Central, fetched once into the cache directory."""
    return fetch_maven_jars(POM, layout.kafka_cache_dir(), "Apache Kafka",
                            {"kafka.version": layout.KAFKA_VERSION})


def fetch_maven_jars(pom: Path, cache: Path, what: str, versions: dict[str, str]) -> Path:
    """``pom``'s dependencies from Maven Central, fetched once into ``cache`` (a marker says
    the copy is whole; a lock keeps two processes from fetching at once). ``versions`` are
    the pom's version properties, passed as ``-Dname=value``."""
    marker = cache / ".complete"
    if marker.exists():
        return cache
    with locked(cache / ".lock"):
        if marker.exists():  # fetched by another process while we waited
            return cache
        pinned = " ".join(versions.values())
        log.info("fetching %s %s jars from Maven Central into %s", what, pinned, cache)
        result = subprocess.run(
            [program_path("mvn"), "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
             f"-DoutputDirectory={cache}",
             *(f"-D{name}={value}" for name, value in versions.items())],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            raise StackError(
                f"mvn could not fetch the {what} jars:\n{result.stdout}{result.stderr}"
            )
        marker.write_text(pinned + "\n")
    return cache


class Stack:
    """One local stack: its data directory and its base port."""

    SERVICES: Final = ("mariadb", "kafka", *(f"redis-{r}" for r in layout.REGIONS))

    def __init__(self, data_dir: Path = layout.DEFAULT_DATA_DIR,
                 base_port: int = layout.DEFAULT_BASE_PORT) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.ports = layout.Ports.from_base(base_port)

    def info(self) -> layout.StackInfo:
        return layout.stack_info(self.data_dir, self.ports)

    # -- per service ---------------------------------------------------------------------------

    def _dir(self, name: str) -> Path:
        return self.data_dir / name

    def _pid_file(self, name: str) -> Path:
        return self._dir(name) / "service.pid"

    def _program_name(self, name: str) -> str:
        return PROGRAMS.get(name, "redis-server")

    def log_file(self, name: str) -> Path:
        """The service's own log (its console output goes to ``console.out`` next to it)."""
        logs = {"mariadb": "mariadb.log", "kafka": "kafka.log"}
        return self._dir(name) / logs.get(name, "redis.log")

    def _console_file(self, name: str) -> Path:
        return self._dir(name) / "console.out"

    def port(self, name: str) -> int:
        if name == "mariadb":
            return self.ports.mariadb
        if name == "kafka":
            return self.ports.kafka
        return self.ports.redis[self._region(name)]

    def _region(self, name: str) -> str:
        region = name.removeprefix("redis-")
        if not name.startswith("redis-") or region not in self.ports.redis:
            raise StackError(f"unknown service {name!r}; services: {', '.join(self.SERVICES)}")
        return region

    def healthy(self, name: str) -> bool:
        port = self.port(name)
        if name == "mariadb":
            return probes.mariadb_login(port, "root", layout.ROOT_PASSWORD)
        if name == "kafka":
            return probes.kafka_api_versions(port)
        return probes.redis_ping(port)

    def pid(self, name: str) -> int | None:
        return running_pid(self._pid_file(name), self.data_dir, self._program_name(name))

    def _check_name(self, name: str) -> None:
        if name not in self.SERVICES:
            raise StackError(f"unknown service {name!r}; services: {', '.join(self.SERVICES)}")

    def _lock(self) -> contextlib.AbstractContextManager[None]:
        """One caller at a time starts or stops this stack's services."""
        return locked(self.data_dir / ".lock")

    def start_service(self, name: str) -> None:
        """Start one service unless it already runs; wait until it answers."""
        self._check_name(name)
        with self._lock():
            self._start(name)

    def stop_service(self, name: str) -> bool:
        """Stop one service if this stack started it; True if it was running."""
        self._check_name(name)
        with self._lock():
            return self._stop(name)

    def _start(self, name: str) -> None:
        if self.pid(name) is not None and self.healthy(name):
            return
        since = (log_size(self.log_file(name)), log_size(self._console_file(name)))
        if self.pid(name) is None:
            if self.healthy(name):
                raise StackError(
                    f"{name}: port {self.port(name)} is taken by a process this stack did not "
                    "start; choose another --base-port"
                )
            self._dir(name).mkdir(parents=True, exist_ok=True)
            starters: dict[str, Callable[[], None]] = {
                "mariadb": self._start_mariadb, "kafka": self._start_kafka,
            }
            try:
                starters.get(name, lambda: self._start_redis(name))()
            except OSError as exc:  # the program could not be run at all
                raise StackError(f"{name} could not be started: {exc}") from exc
        if name == "mariadb" and not self._mariadb_initialized():
            self._wait(name, self._mariadb_socket_ready, since)
            self._init_mariadb()
        self._wait(name, lambda: self.healthy(name), since)

    def _stop(self, name: str) -> bool:
        return stop(self._pid_file(name), self.data_dir, self._program_name(name), timeout_s=60)

    def _wait(self, name: str, ready: Callable[[], bool], since: tuple[int, int]) -> None:
        """Until ``ready``; else an error quoting what the service logged since ``since``."""
        deadline = time.monotonic() + START_TIMEOUT_S
        what = f"did not answer on port {self.port(name)} within {START_TIMEOUT_S:.0f} s"
        while time.monotonic() < deadline:
            if ready():
                return
            if self.pid(name) is None:
                what = "exited while starting"
                break
            time.sleep(0.2)
        log_file, console = self.log_file(name), self._console_file(name)
        message = f"{name} {what}; its log is {log_file}:\n"
        message += log_excerpt(read_log(log_file, since[0]))
        console_text = read_log(console, since[1])
        if console_text.strip():
            message += f"\nits console output ({console}):\n{log_excerpt(console_text)}"
        raise StackError(message)

    # -- MariaDB ------------------------------------------------------------------------------

    def _start_mariadb(self) -> None:
        base = self._dir("mariadb")
        cnf = base / "my.cnf"
        cnf.write_text(layout.mariadb_cnf(self.data_dir, self.ports.mariadb))
        if not (base / "data" / "mysql").exists():
            (base / "initialized").unlink(missing_ok=True)
            result = subprocess.run(
                [program_path("mariadb-install-db"), "--no-defaults", f"--datadir={base / 'data'}",
                 "--auth-root-authentication-method=normal", "--skip-test-db", "--user=root"],
                capture_output=True, text=True, check=False,
            )
            if result.returncode != 0:
                raise StackError(f"mariadb-install-db failed:\n{result.stdout}{result.stderr}")
        spawn([program_path("mariadbd"), f"--defaults-file={cnf}"],
              log_file=self._console_file("mariadb"), pid_file=self._pid_file("mariadb"))

    def _mariadb_initialized(self) -> bool:
        return (self._dir("mariadb") / "initialized").exists()

    def _mariadb_root_socket(self) -> pymysql.Connection[pymysql.cursors.Cursor]:
        # Before initialization root has no password and logs in over the socket only; an
        # initialization cut short may have set the password already.
        path = self._dir("mariadb") / "mariadb.sock"
        try:
            return probes.mariadb_socket_connect(path, "root", "")
        except pymysql.err.OperationalError as exc:
            if exc.args[0] != ER.ACCESS_DENIED_ERROR:
                raise
        return probes.mariadb_socket_connect(path, "root", layout.ROOT_PASSWORD)

    def _mariadb_socket_ready(self) -> bool:
        try:
            self._mariadb_root_socket().close()
        except (OSError, pymysql.MySQLError):
            return False
        return True

    def _init_mariadb(self) -> None:
        conn = self._mariadb_root_socket()
        try:
            with conn.cursor() as cur:
                for statement in layout.init_sql():
                    cur.execute(statement)
            conn.commit()
        finally:
            conn.close()
        (self._dir("mariadb") / "initialized").write_text("ok\n")

    # -- Kafka --------------------------------------------------------------------------------

    def _start_kafka(self) -> None:
        check_java()
        jars = fetch_kafka_jars()
        base = self._dir("kafka")
        props = base / "server.properties"
        props.write_text(layout.kafka_properties(self.data_dir, self.ports))
        log4j = base / "log4j2.properties"
        log4j.write_text(layout.kafka_log4j(self.data_dir))
        java = [program_path("java"), f"-Dlog4j2.configurationFile={log4j}", "-cp", f"{jars}/*"]
        if not (base / "data" / "meta.properties").exists():
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            result = subprocess.run(
                [*java, "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}",
                 f"--config={props}", "--standalone"],  # "=": an id may start with "-"
                capture_output=True, text=True, check=False,
            )
            if result.returncode != 0:
                raise StackError(
                    f"formatting Kafka storage failed:\n{result.stdout}{result.stderr}"
                )
        spawn([java[0], "-Xms256m", "-Xmx512m", f"-XX:ErrorFile={base / 'hs_err_%p.log'}",
               *java[1:], "kafka.Kafka", str(props)],
              log_file=self._console_file("kafka"), pid_file=self._pid_file("kafka"))

    # -- Redis --------------------------------------------------------------------------------

    def _start_redis(self, name: str) -> None:
        args = layout.redis_args(self.data_dir, self._region(name), self.port(name))
        spawn([program_path("redis-server"), *args],
              log_file=self._console_file(name), pid_file=self._pid_file(name))

    # -- the whole stack ----------------------------------------------------------------------

    def up(self) -> layout.StackInfo:
        """Start every service that is not running (in parallel) and wait until all answer."""
        check_binaries()
        fetch_kafka_jars()
        with self._lock(), ThreadPoolExecutor(max_workers=len(self.SERVICES)) as pool:
            futures = {name: pool.submit(self._start, name) for name in self.SERVICES}
        errors = [str(f.exception()) for f in futures.values() if f.exception() is not None]
        if errors:
            raise StackError("\n".join(errors))
        return self.info()

    def down(self) -> list[str]:
        """Stop what this stack started; the names of the services that were running."""
        with self._lock():
            return [name for name in reversed(self.SERVICES) if self._stop(name)]

    def status(self) -> list[ServiceStatus]:
        """Each service: port, pid (if this stack runs it) and whether it answers."""
        rows = []
        for name in self.SERVICES:
            pid = self.pid(name)
            rows.append(ServiceStatus(name, self.port(name), pid,
                                      pid is not None and self.healthy(name), self.log_file(name)))
        return rows
