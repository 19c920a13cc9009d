"""Child processes of the stack: start detached, remember by pid file, stop only our own.

A pid file alone is not proof: pids are recycled. A process counts as ours only while its
working directory lies inside the stack's data directory (every service is started, or
moves itself, there), so ``down`` never signals a stranger.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

_children: dict[int, subprocess.Popen[bytes]] = {}
"""Services this process started: kept so they are reaped (not left as zombies or warned
about) when this same process stops them; they outlive it otherwise."""


def read_pid(pid_file: Path) -> int | None:
    try:
        text = pid_file.read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


def is_ours(pid: int, data_dir: Path) -> bool:
    """Whether ``pid`` is alive and runs inside ``data_dir`` (so we started it)."""
    try:
        cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, PermissionError, ProcessLookupError, IndexError):
        return False
    if state == "Z":
        return False
    return cwd == data_dir.resolve() or data_dir.resolve() in cwd.parents


def running_pid(pid_file: Path, data_dir: Path) -> int | None:
    pid = read_pid(pid_file)
    return pid if pid is not None and is_ours(pid, data_dir) else None


def spawn(argv: Sequence[str], *, cwd: Path, log_file: Path, pid_file: Path,
          env: dict[str, str] | None = None) -> int:
    """Start ``argv`` in its own session (it outlives us), output appended to ``log_file``."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        proc = subprocess.Popen(
            list(argv), cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
            start_new_session=True, env=env,
        )
    _children[proc.pid] = proc
    pid_file.write_text(f"{proc.pid}\n")
    log.debug("started %s as pid %d", argv[0], proc.pid)
    return proc.pid


def _reap(pid: int) -> None:
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        del _children[pid]


def stop(pid_file: Path, data_dir: Path, *, timeout_s: float = 30.0) -> bool:
    """SIGTERM our process, SIGKILL it after ``timeout_s``; True if one was running."""
    pid = running_pid(pid_file, data_dir)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _reap(pid)
        if not is_ours(pid, data_dir):
            break
        time.sleep(0.1)
    else:
        log.warning("pid %d did not stop within %.0f s; sending SIGKILL", pid, timeout_s)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        while is_ours(pid, data_dir):
            _reap(pid)
            time.sleep(0.05)
    pid_file.unlink(missing_ok=True)
    return True


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log yet)"
