"""Child processes of the stack: start detached, remember by pid file, stop only our own.

A pid file alone is not proof: pids are recycled. A process counts as ours only while it runs
the program we started (``mariadbd``, ``java``, ``redis-server``) and points at the stack's data
directory: the data directory appears in its command line (``--defaults-file``, the properties
file) or contains its working directory (Redis rewrites its command line to ``redis-server
ADDR`` but moves into its ``--dir``). So ``down`` never signals a stranger: neither a recycled
pid nor another stack's service, nor a shell or ``tail -f`` inside the data directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

log = logging.getLogger(__name__)

_children: dict[int, subprocess.Popen[bytes]] = {}
"""Services this process started: kept so they are reaped (not left as zombies or warned
about) when this same process stops them; they outlive it otherwise."""


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


def read_pid(pid_file: Path) -> int | None:
    try:
        text = pid_file.read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


def belongs(argv: Sequence[str], cwd: Path, data_dir: Path, program: str) -> bool:
    """Whether a process (its ``argv`` and working directory) is ``program`` run for ``data_dir``.

    Pure; ``data_dir`` is resolved. A process that rewrote its ``argv[0]`` (``redis-server
    ADDR``) is still recognised by its first word.
    """
    if not argv or Path(argv[0].split(" ", 1)[0]).name != program:
        return False
    inside = f"{data_dir}/"  # a path inside the dir: /x/stack must not claim /x/stack-other's
    return any(inside in f"{arg}/" for arg in argv) or cwd == data_dir or data_dir in cwd.parents


def is_ours(pid: int, data_dir: Path, program: str) -> bool:
    """Whether ``pid`` is alive (not a zombie) and :func:`belongs` to ``data_dir``."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
        with open(f"/proc/{pid}/cmdline", "rb") as raw:
            argv = raw.read().decode(errors="replace").split("\0")
        cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
    except (FileNotFoundError, PermissionError, ProcessLookupError, IndexError):
        return False
    return state != "Z" and belongs(argv, cwd, data_dir.resolve(), program)


def running_pid(pid_file: Path, data_dir: Path, program: str) -> int | None:
    pid = read_pid(pid_file)
    return pid if pid is not None and is_ours(pid, data_dir, program) else None


def spawn(argv: Sequence[str], *, cwd: Path, log_file: Path, pid_file: Path) -> int:
    """Start ``argv`` in its own session (it outlives us), output appended to ``log_file``."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        proc = subprocess.Popen(
            list(argv), cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
            start_new_session=True,
        )
    _children[proc.pid] = proc
    pid_file.write_text(f"{proc.pid}\n")
    log.debug("started %s as pid %d", argv[0], proc.pid)
    return proc.pid


def _reap(pid: int) -> None:
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        del _children[pid]


def stop(pid_file: Path, data_dir: Path, program: str, *, timeout_s: float = 30.0) -> bool:
    """SIGTERM our process, SIGKILL it after ``timeout_s``; True if one was running."""
    pid = running_pid(pid_file, data_dir, program)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _reap(pid)
        if not is_ours(pid, data_dir, program):
            break
        time.sleep(0.1)
    else:
        log.warning("pid %d did not stop within %.0f s; sending SIGKILL", pid, timeout_s)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        while is_ours(pid, data_dir, program):
            _reap(pid)
            time.sleep(0.05)
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
