"""Child processes of the stack: start detached, remember by pid file, stop only our own.

A pid alone is not proof: pids are recycled. The pid file records the pid and the process's
start time (clock ticks since boot, ``/proc/PID/stat`` field 22); a process counts as ours
only while that pid runs the program we started (its ``comm``: ``mariadbd``, ``java``,
``redis-server``) with that same start time. Unlike the command line and the working
directory, both stay readable and fixed for a process's whole life: Redis rewrites its command
line while it starts, and a JVM's main thread exits (a zombie leader, with an empty command
line and no working directory) while its other threads are still shutting the broker down.

Pid files written before start times were recorded hold a pid only: such a process counts as
ours if it runs the program for the stack's data directory (:func:`belongs`).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

log = logging.getLogger(__name__)

_children: set[int] = set()
"""Services this process started, reaped here when this same process stops them (else they
stay zombies until it exits); they outlive it otherwise. Pids, not ``Popen`` objects: a
``Popen`` collected while its child runs warns, and these children are meant to run on."""


@contextlib.contextmanager
def locked(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``lock_file`` (created) for the block.

    Two ``up`` runs on one data directory (two test sessions, say) would otherwise both start
    a service and lose track of one of them. Children do not inherit the lock (close_fds).
    """
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


@dataclass(frozen=True, slots=True)
class PidRecord:
    """What a pid file says: the pid and, when recorded, the process's start time."""

    pid: int
    start_ticks: int | None


@dataclass(frozen=True, slots=True)
class ProcStat:
    """The fields of ``/proc/PID/stat`` that identify a process and tell whether it lives."""

    comm: str
    state: str
    num_threads: int
    start_ticks: int

    @property
    def alive(self) -> bool:
        """A zombie leader whose other threads still run (a JVM shutting down) is alive."""
        return self.state != "Z" or self.num_threads > 1


def parse_pid_file(text: str) -> PidRecord | None:
    match text.split():
        case [pid] if pid.isdigit():
            return PidRecord(int(pid), None)
        case [pid, ticks] if pid.isdigit() and ticks.isdigit():
            return PidRecord(int(pid), int(ticks))
    return None


def format_pid_file(record: PidRecord) -> str:
    return f"{record.pid} {record.start_ticks}\n"


def parse_stat(text: str) -> ProcStat:
    """Parse ``/proc/PID/stat``; ``comm`` may hold spaces and parentheses."""
    head, tail = text.rsplit(")", 1)
    fields = tail.split()  # fields[0] is field 3 (state) of proc(5)
    return ProcStat(comm=head.split("(", 1)[1], state=fields[0], num_threads=int(fields[17]),
                    start_ticks=int(fields[19]))


def read_stat(pid: int) -> ProcStat | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as stat:
            return parse_stat(stat.read())
    except (FileNotFoundError, ProcessLookupError):
        return None


def read_pid_file(pid_file: Path) -> PidRecord | None:
    try:
        return parse_pid_file(pid_file.read_text())
    except FileNotFoundError:
        return None


def belongs(argv: Sequence[str], cwd: Path, data_dir: Path, program: str) -> bool:
    """Whether a process (its ``argv`` and working directory) is ``program`` run for ``data_dir``.

    Pure; ``data_dir`` is resolved. A process that rewrote its ``argv[0]`` (``redis-server
    ADDR``) is still recognised by its first word.
    """
    if not argv or Path(argv[0].split(" ", 1)[0]).name != program:
        return False
    inside = f"{data_dir}/"  # a path inside the dir: /x/stack must not claim /x/stack-other's
    return any(inside in f"{arg}/" for arg in argv) or cwd == data_dir or data_dir in cwd.parents


def identify(record: PidRecord, data_dir: Path, program: str) -> PidRecord | None:
    """The process ``record`` names, with its start time, if it still runs ``program`` for
    ``data_dir``; None if it is gone or a stranger."""
    stat = read_stat(record.pid)
    if stat is None or not stat.alive or stat.comm != program[:15]:  # comm is cut at 15
        return None
    if record.start_ticks is not None:
        return record if stat.start_ticks == record.start_ticks else None
    try:
        with open(f"/proc/{record.pid}/cmdline", "rb") as raw:
            argv = raw.read().decode(errors="replace").split("\0")
        cwd = Path(os.readlink(f"/proc/{record.pid}/cwd"))
    except (FileNotFoundError, PermissionError, ProcessLookupError):
        return None
    if not belongs(argv, cwd, data_dir.resolve(), program):
        return None
    return PidRecord(record.pid, stat.start_ticks)


def running_pid(pid_file: Path, data_dir: Path, program: str) -> int | None:
    record = read_pid_file(pid_file)
    ours = identify(record, data_dir, program) if record is not None else None
    return ours.pid if ours is not None else None


def spawn(argv: Sequence[str], *, log_file: Path, pid_file: Path) -> int:
    """Start ``argv`` in its own session (it outlives us), output appended to ``log_file``."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    pid = os.posix_spawn(
        argv[0], list(argv), os.environ,
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, str(log_file), os.O_WRONLY | os.O_APPEND | os.O_CREAT,
             0o644),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
        setsid=True,
        setsigdef=(signal.SIGPIPE, signal.SIGXFSZ),  # Python ignores them; a service must not
    )
    _children.add(pid)
    # posix_spawn returns once the child has dropped our memory, a moment before the kernel
    # names it after the new program: wait for the name, by which the pid is recognised.
    program = Path(argv[0]).name[:15]
    while (stat := read_stat(pid)) is not None and stat.comm != program and stat.alive:
        time.sleep(0.001)
    assert stat is not None, "an unreaped child keeps its /proc entry"
    pid_file.write_text(format_pid_file(PidRecord(pid, stat.start_ticks)))
    log.debug("started %s as pid %d", argv[0], pid)
    return pid


def _reap(pid: int) -> None:
    if pid in _children:
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG) == (0, 0):
                return  # still running
        _children.discard(pid)


def stop(pid_file: Path, data_dir: Path, program: str, *, timeout_s: float = 30.0) -> bool:
    """SIGTERM our process, SIGKILL it after ``timeout_s``; True if one was running.

    Returns once every thread of the process has exited, so its ports and files are free.
    """
    found = read_pid_file(pid_file)
    record = identify(found, data_dir, program) if found is not None else None
    if record is None:
        pid_file.unlink(missing_ok=True)
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while identify(record, data_dir, program) is not None:
        if time.monotonic() >= deadline:
            log.warning("pid %d did not stop within %.0f s; sending SIGKILL",
                        record.pid, timeout_s)
            with contextlib.suppress(ProcessLookupError):
                os.kill(record.pid, signal.SIGKILL)
            deadline = float("inf")
        _reap(record.pid)
        time.sleep(0.05)
    _reap(record.pid)
    pid_file.unlink(missing_ok=True)
    return True


def log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def read_log(path: Path, since: int) -> str:
    """What ``path`` got after its first ``since`` bytes (a restart's part of a log)."""
    try:
        with path.open("rb") as handle:
            handle.seek(since)
            return handle.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


ERROR_MARKERS: Final = ("ERROR", "FATAL", "Exception", "Error:", "error:")


def log_excerpt(text: str, *, errors: int = 5, last: int = 10) -> str:
    """What to show of a failed service's log: its first error lines, which name the cause
    (the last lines of a JVM log are often a stack trace), then its last lines."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(("at ", "... "))]
    ending = lines[-last:]
    first_errors = [line for line in lines[:-last] if any(m in line for m in ERROR_MARKERS)]
    shown = [*first_errors[:errors], "..."] if first_errors else []
    return "\n".join([*shown, *ending]) or "(nothing logged)"
