"""Which processes the stack may signal: only its own, never a recycled pid."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cachesync.stack.process import (
    belongs,
    is_ours,
    log_excerpt,
    log_size,
    read_log,
    running_pid,
    stop,
)

DATA = Path("/srv/cachesync/stack")


@pytest.mark.parametrize(
    ("argv", "cwd", "program", "ours"),
    [
        (["mariadbd", "--defaults-file=/srv/cachesync/stack/mariadb/my.cnf"], Path("/"),
         "mariadbd", True),
        (["java", "-cp", "/jars/*", "kafka.Kafka", "/srv/cachesync/stack/kafka/server.properties"],
         Path("/srv/cachesync/stack/kafka"), "java", True),
        # Redis rewrites its command line; its working directory is its --dir.
        (["redis-server 127.0.0.1:13379", "", ""], Path("/srv/cachesync/stack/redis-east"),
         "redis-server", True),
        # Another stack whose directory shares our name as a prefix.
        (["mariadbd", "--defaults-file=/srv/cachesync/stack-other/mariadb/my.cnf"],
         Path("/srv/cachesync/stack-other/mariadb/data"), "mariadbd", False),
        (["redis-server 127.0.0.1:6379"], Path("/var/lib/redis"), "redis-server", False),
        # The right directory but another program: a shell or `tail -f` of a log.
        (["bash"], Path("/srv/cachesync/stack/kafka"), "java", False),
        (["tail", "-f", "/srv/cachesync/stack/kafka/kafka.log"], Path("/"), "java", False),
        ([], DATA, "java", False),
    ],
)
def test_a_process_belongs_to_the_stack_by_program_and_data_dir(
    argv: list[str], cwd: Path, program: str, ours: bool
) -> None:
    assert belongs(argv, cwd, DATA, program) is ours


def _sleeper(cwd: Path) -> subprocess.Popen[bytes]:
    """A child that has exec'd and changed directory: until it has, /proc shows the parent's
    command line and working directory, so checks made too early would race."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(30)"],
        cwd=cwd, stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    proc.stdout.close()
    return proc


def test_only_our_live_processes_are_stopped(tmp_path: Path) -> None:
    program = Path(sys.executable).name
    inside = tmp_path / "svc"
    inside.mkdir()
    proc = _sleeper(inside)
    try:
        assert is_ours(proc.pid, tmp_path, program)
        assert not is_ours(proc.pid, tmp_path, "redis-server")
        assert not is_ours(proc.pid, tmp_path / "other", program)
        assert not is_ours(os.getpid(), tmp_path, program)
        pid_file = tmp_path / "svc.pid"
        pid_file.write_text(f"{os.getpid()}\n")
        assert running_pid(pid_file, tmp_path, program) is None  # a recycled pid is not ours
        assert not stop(pid_file, tmp_path, program)
        assert not pid_file.exists()
        pid_file.write_text(f"{proc.pid}\n")
        assert running_pid(pid_file, tmp_path, program) == proc.pid
    finally:
        proc.kill()
        proc.wait()
    assert not is_ours(proc.pid, tmp_path, program)


def test_stop_terminates_and_forgets_our_process(tmp_path: Path) -> None:
    program = Path(sys.executable).name
    proc = _sleeper(tmp_path)
    pid_file = tmp_path / "svc.pid"
    pid_file.write_text(f"{proc.pid}\n")
    try:
        assert stop(pid_file, tmp_path, program, timeout_s=5)
        assert proc.wait(timeout=5) == -15
    finally:
        proc.kill()
        proc.wait()
    assert not pid_file.exists()


def test_a_process_that_ignores_sigterm_is_killed(tmp_path: Path) -> None:
    program = Path(sys.executable).name
    code = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(30)")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, stdout=subprocess.PIPE)
    pid_file = tmp_path / "svc.pid"
    pid_file.write_text(f"{proc.pid}\n")
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        assert stop(pid_file, tmp_path, program, timeout_s=0.5)
        assert proc.wait(timeout=5) == -9
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_log_excerpt_puts_the_first_errors_before_the_last_lines() -> None:
    text = "\n".join([
        "INFO starting",
        "ERROR Unable to start acceptor",
        "java.net.BindException: Address already in use",
        "\tat kafka.network.Acceptor.openServerSocket(SocketServer.scala:634)",
        *(f"INFO shutting down {i}" for i in range(12)),
    ])
    assert log_excerpt(text, last=3).splitlines() == [
        "ERROR Unable to start acceptor",
        "java.net.BindException: Address already in use",
        "...",
        "INFO shutting down 9", "INFO shutting down 10", "INFO shutting down 11",
    ]
    assert log_excerpt("a\nb") == "a\nb"
    assert log_excerpt("") == "(nothing logged)"


def test_read_log_returns_what_a_restart_wrote(tmp_path: Path) -> None:
    log = tmp_path / "svc.log"
    assert (log_size(log), read_log(log, 0)) == (0, "")
    log.write_text("old run\n")
    since = log_size(log)
    with log.open("a") as handle:
        handle.write("new run\n")
    assert read_log(log, since) == "new run\n"
