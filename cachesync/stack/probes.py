"""Health probes that speak each service's own protocol (blocking, short timeouts)."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import pymysql


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def redis_ping(port: int, timeout_s: float = 1.0) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
            sock.sendall(b"PING\r\n")
            reply: bytes = sock.recv(64)
            return reply.startswith(b"+PONG")
    except OSError:
        return False


def kafka_api_versions(port: int, timeout_s: float = 2.0) -> bool:
    """An ApiVersions v0 round trip: the broker's socket server is up and answering."""
    client_id = b"cachesync-stack"
    body = struct.pack(">hhih", 18, 0, 1, len(client_id)) + client_id
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            header = _recv_exact(sock, 10)
    except OSError:
        return False
    _, correlation_id, error_code = struct.unpack(">iih", header)
    return bool(correlation_id == 1 and error_code == 0)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("connection closed")
        data += chunk
    return data


def mariadb_login(port: int, user: str, password: str, timeout_s: float = 2.0) -> bool:
    try:
        conn = pymysql.connect(host="127.0.0.1", port=port, user=user, password=password,
                               connect_timeout=int(max(1, timeout_s)))
    except pymysql.MySQLError:
        return False
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
        return True
    finally:
        conn.close()


def mariadb_socket_connect(path: Path, user: str, password: str,
                           timeout_s: float = 2.0) -> pymysql.Connection[pymysql.cursors.Cursor]:
    """A connection over MariaDB's Unix socket.

    The socket is connected here, not by PyMySQL, which leaks the socket of a Unix-socket
    connection the server refused (a ResourceWarning, later, wherever the GC runs).
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout_s)
        sock.connect(str(path))
    except OSError:
        sock.close()
        raise
    conn = pymysql.connect(unix_socket=str(path), user=user, password=password,
                           defer_connect=True)
    conn.connect(sock)  # PyMySQL closes the socket if the login fails
    return conn
