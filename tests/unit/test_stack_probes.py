"""Probes against services that are not there: a clean False or error, no leaked sockets."""

from __future__ import annotations

import gc
import socket
import threading
import warnings
from pathlib import Path

import pymysql
import pytest

from cachesync.stack import probes


def test_nothing_listening_is_unhealthy() -> None:
    port = probes.free_port()
    assert not probes.redis_ping(port, timeout_s=0.5)
    assert not probes.kafka_api_versions(port, timeout_s=0.5)
    assert not probes.mariadb_login(port, "root", "x", timeout_s=1)


def test_socket_login_to_a_missing_or_hanging_up_server_leaks_no_socket(tmp_path: Path) -> None:
    path = tmp_path / "mariadb.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen()

        def hang_up() -> None:
            conn, _ = server.accept()
            conn.close()

        acceptor = threading.Thread(target=hang_up)
        acceptor.start()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(pymysql.err.OperationalError):
                probes.mariadb_socket_connect(path, "root", "")
            acceptor.join()
            with pytest.raises(OSError):
                probes.mariadb_socket_connect(tmp_path / "absent.sock", "root", "")
            gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
