"""Which processes the stack may signal: only its own, never a recycled pid."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cachesync.stack.process import (
    PidRecord,
    ProcStat,
    belongs,
    format_pid_file,
    identify,
    log_excerpt,
    log_size,
    parse_pid_file,
    parse_stat,
    read_log,
    read_stat,
    running_pid,
    spawn,
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


@pytest.mark.parametrize(
    ("text", "record"),
    [
        ("4242 1354616\n", PidRecord(4242, 1354616)),
        ("4242\n", PidRecord(4242, None)),  # written before start times were recorded
        ("", None),
        ("4242 soon", None),
        ("-1", None),
    ],
)
def test_pid_file_round_trip(text: str, record: PidRecord | None) -> None:
    assert parse_pid_file(text) == record
    if record is not None and record.start_ticks is not None:
        assert parse_pid_file(format_pid_file(record)) == record


def test_stat_is_parsed_around_a_command_name_with_parentheses() -> None:
    fields = ["S", "1", *["0"] * 15, "97", "0", "1354616", "0"]
    stat = parse_stat(f"4242 (a) (b) {' '.join(fields)}\n")
    assert stat == ProcStat(comm="a) (b", state="S", num_threads=97, start_ticks=1354616)


@pytest.mark.parametrize(
    ("state", "threads", "alive"),
    [("S", 1, True), ("R", 40, True), ("Z", 2, True), ("Z", 1, False)],
)
def test_a_zombie_leader_lives_while_other_threads_run(
    state: str, threads: int, alive: bool
) -> None:
    assert ProcStat("java", state, threads, 1).alive is alive


def _sleeper(cwd: Path, setup: str = "pass", then: str = "time.sleep(30)"
             ) -> subprocess.Popen[bytes]:
    """A child that ran ``setup`` and now runs ``then``. Returns once the child runs Python:
    right after ``exec`` its command line is still empty (the kernel closes close-on-exec
    pipes, which ends ``Popen``, before it maps the new program's arguments)."""
    code = f"import ctypes, signal, threading, time; {setup}; print('ready', flush=True); {then}"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=cwd, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    return proc


def _record(proc: subprocess.Popen[bytes]) -> PidRecord:
    stat = read_stat(proc.pid)
    assert stat is not None
    return PidRecord(proc.pid, stat.start_ticks)


def test_a_process_is_ours_by_pid_start_time_and_program(tmp_path: Path) -> None:
    program = Path(sys.executable).name
    proc = _sleeper(tmp_path)
    try:
        record = _record(proc)
        assert identify(record, tmp_path, program) == record
        assert identify(record, tmp_path, "redis-server") is None
        # The same pid with another start time: a recycled pid, never ours.
        assert identify(PidRecord(proc.pid, 1), tmp_path, program) is None
        # A pid file without a start time: ours only when run for this data dir.
        legacy = PidRecord(proc.pid, None)
        assert identify(legacy, tmp_path, program) == record
        assert identify(legacy, tmp_path / "other", program) is None
        pid_file = tmp_path / "svc.pid"
        pid_file.write_text(format_pid_file(record))
        assert running_pid(pid_file, tmp_path, program) == proc.pid
    finally:
        proc.kill()
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
    assert identify(record, tmp_path, program) is None


def test_spawn_detaches_logs_and_records_the_start_time(tmp_path: Path) -> None:
    program = Path(sys.executable).name
    pid_file, log_file = tmp_path / "svc.pid", tmp_path / "logs" / "console.out"
    code = ("import sys, time; print('out', flush=True); print('err', file=sys.stderr, flush=True);"
            " time.sleep(30)")
    pid = spawn([sys.executable, "-c", code], log_file=log_file, pid_file=pid_file)
    try:
        stat = read_stat(pid)
        assert stat is not None
        assert parse_pid_file(pid_file.read_text()) == PidRecord(pid, stat.start_ticks)
        assert os.getsid(pid) == pid  # its own session: our terminal's signals miss it
        deadline = time.monotonic() + 10
        while "err" not in log_file.read_text() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert log_file.read_text() == "out\nerr\n"
        assert stop(pid_file, tmp_path, program, timeout_s=5)
        assert read_stat(pid) is None  # reaped, not left a zombie
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_stop_leaves_a_stranger_alone_and_forgets_its_pid_file(tmp_path: Path) -> None:
    program = Path(sys.executable).name
    pid_file = tmp_path / "svc.pid"
    pid_file.write_text(f"{os.getpid()}\n")  # this test's own pid, not run for tmp_path
    assert running_pid(pid_file, tmp_path, program) is None
    assert not stop(pid_file, tmp_path, program)
    assert not pid_file.exists()


def test_stop_terminates_and_forgets_our_process(tmp_path: Path) -> None:
    program = Path(sys.executable).name
    proc = _sleeper(tmp_path)
    pid_file = tmp_path / "svc.pid"
    pid_file.write_text(format_pid_file(_record(proc)))
    try:
        assert stop(pid_file, tmp_path, program, timeout_s=5)
        assert proc.wait(timeout=5) == -15
    finally:
        proc.kill()
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
    assert not pid_file.exists()


def test_stop_waits_for_the_threads_of_a_zombie_leader(tmp_path: Path) -> None:
    # A JVM's main thread exits before its other threads finish shutting the broker down.
    program = Path(sys.executable).name
    proc = _sleeper(tmp_path, "threading.Thread(target=time.sleep, args=(30,)).start()",
                    "ctypes.CDLL(None).pthread_exit(None)")
    pid_file = tmp_path / "svc.pid"
    try:
        record = _record(proc)
        pid_file.write_text(format_pid_file(record))
        while (stat := read_stat(proc.pid)) is not None and stat.state != "Z":
            time.sleep(0.01)
        assert identify(record, tmp_path, program) == record
        assert stop(pid_file, tmp_path, program, timeout_s=5)
        assert proc.poll() == -15
    finally:
        proc.kill()
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


def test_a_process_that_ignores_sigterm_is_killed(tmp_path: Path) -> None:
    program = Path(sys.executable).name
    proc = _sleeper(tmp_path, "signal.signal(signal.SIGTERM, signal.SIG_IGN)")
    pid_file = tmp_path / "svc.pid"
    pid_file.write_text(format_pid_file(_record(proc)))
    try:
        assert stop(pid_file, tmp_path, program, timeout_s=0.5)
        assert proc.wait(timeout=5) == -9
    finally:
        proc.kill()
        proc.wait()
        assert proc.stdout is not None
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
