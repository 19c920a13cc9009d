"""Process control for long runs under faults: worker processes and self-restarting threads.

- :class:`Child` is one ``cachesync`` worker process (``cdc run``, ``consume``) with its log
  file: start it, SIGKILL it, stop it with SIGTERM, start it again, see whether it died.
- :func:`keep_running` runs an application thread's loop (a workload writer or reader) and
  calls it again when it fails on a lost connection, as an application's connection pool
  would: a database restart or a region's Redis outage must not end the traffic.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Final

import pymysql
import redis
import sqlalchemy as sa

log = logging.getLogger(__name__)

CACHESYNC: Final = str(Path(sys.executable).with_name("cachesync"))
STOP_TIMEOUT_S: Final = 30.0
CONNECTION_ERRORS: Final = (pymysql.err.Error, sa.exc.SQLAlchemyError, redis.RedisError,
                            ConnectionError, OSError)
"""What a lost MariaDB or Redis connection raises in the workload's threads."""


class Child:
    """One worker process, ``cachesync ARGS...``, logging (appending) to ``log_path``."""

    def __init__(self, name: str, args: list[str], log_path: Path) -> None:
        self.name = name
        self.args = args
        self.log_path = log_path
        self._env = dict(os.environ) | {"PYTHONUNBUFFERED": "1"}
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as out:
            self._proc = subprocess.Popen([CACHESYNC, *self.args], stdout=out,
                                          stderr=subprocess.STDOUT, env=self._env)
        log.info("started %s (pid %d)", self.name, self._proc.pid)

    def kill(self) -> None:
        """SIGKILL, and wait until it is gone."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait()
            log.info("killed %s (pid %d)", self.name, self._proc.pid)

    def stop(self) -> int | None:
        """SIGTERM (SIGKILL after ``STOP_TIMEOUT_S``); the exit status."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop on SIGTERM within %.0f s; killing it", self.name,
                            STOP_TIMEOUT_S)
                self._proc.kill()
                self._proc.wait()
        return self._proc.returncode

    def revive(self) -> bool:
        """Start it again if it died on its own (as a service manager would); True if so."""
        if self._proc is None or self._proc.poll() is None:
            return False
        log.warning("%s exited on its own with status %s; starting it again (see %s)",
                    self.name, self._proc.returncode, self.log_path)
        self.start()
        return True


def keep_running(name: str, loop: Callable[[], None], stop: threading.Event,
                 restarts: Counter[str], lock: threading.Lock, *, retry_s: float = 0.5) -> None:
    """Call ``loop`` (which returns once ``stop`` is set) again after a connection error,
    until ``stop`` is set; count the restarts under ``name``."""
    while not stop.is_set():
        try:
            loop()
            return
        except CONNECTION_ERRORS as exc:
            with lock:
                restarts[name] += 1
            log.debug("%s lost its connection (%s); again in %.1f s", name, exc, retry_s)
            stop.wait(retry_s)
