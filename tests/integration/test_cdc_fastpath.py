"""The reader's fast path against python-mysql-replication's own decoding, on the real binlog.

Rows of every column type (the hand-checked rows of ``test_cdc_types`` and a few hundred
random ones, NULLs included) are written as inserts, multi-row statements, updates, key
moves and deletes; the same binlog range is then read twice: by :class:`cdc.reader.
BinlogReader` (packets, table codecs) and by a plain library loop turned into records the
way the reader turned library events into records before the fast path. The records must
be equal, and encode to the same bytes (so ``1`` vs ``1.0``, ``True`` vs ``1`` and key order
count). A table whose column type the codec does not know (DATETIME in the pre-5.6 binlog
format) must still come through, decoded by the library.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import json
import queue
import random
import threading
import time
import uuid
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from pymysqlreplication import BinLogStreamReader
from pymysqlreplication.event import MariadbGtidEvent, XidEvent
from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

from cachesync import db
from cachesync.stack import StackInfo
from cdc.assemble import Record
from cdc.catalog import ShapeCatalog
from cdc.position import Position, SourceIdentity, TxnCursor
from cdc.reader import BinlogReader, _RowsPlan
from tests.integration.conftest import unique_name
from tests.integration.test_cdc_support import cdc_setup, ensure_app_schema, mysql
from tests.integration.test_cdc_types import COLUMNS, ROWS

EXTRA_COLUMNS = """,
    vc2 VARCHAR(300) CHARACTER SET utf8mb4, c255 CHAR(255) CHARACTER SET utf8mb4,
    lt LONGTEXT CHARACTER SET utf8mb4, mt MEDIUMTEXT CHARACTER SET latin1, lb LONGBLOB,
    dec0 DECIMAL(10,0), dec18 DECIMAL(18,9), dec22 DECIMAL(2,2), dec40 DECIMAL(40,5),
    ts0 TIMESTAMP NULL DEFAULT NULL, bt8 BIT(8), bt17 BIT(17), en2 ENUM('x','y') NOT NULL,
    st2 SET('p','q','r','s','t','u','v','w','z') NOT NULL DEFAULT ''
"""
LATIN1 = "abcXYZ 019,;'\"\\%_àéîõüßÿÀÉ€£©®°±µ¶"
UNICODE = "aZ09 ,'\"\\éüß€✓😀🎉漢字ñ\t\n"


def _text(rng: random.Random, alphabet: str, most: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, most)))


def _decimal(rng: random.Random, integral: int, scale: int) -> str:
    whole = rng.randrange(10 ** integral) if integral else 0
    frac = f".{rng.randrange(10 ** scale):0{scale}d}" if scale else ""
    return f"{rng.choice(['', '-'])}{whole}{frac}"


def _datetime(rng: random.Random, fsp: int, low: int = 1000, high: int = 9999) -> str:
    value = dt.datetime(rng.randint(low, high), rng.randint(1, 12), rng.randint(1, 28),
                        rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59))
    frac = f".{rng.randrange(10 ** fsp):0{fsp}d}" if fsp else ""
    return value.strftime("%Y-%m-%d %H:%M:%S") + frac


def _datetime_of(fsp: int, rng: random.Random) -> str:
    return _datetime(rng, fsp)


def _time(rng: random.Random, fsp: int) -> str:
    sign = rng.choice(["", "-"])
    frac = f".{rng.randrange(10 ** fsp):0{fsp}d}" if fsp else ""
    return f"{sign}{rng.randint(0, 838)}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}{frac}"


def _json(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randint(0, 7 if depth < 3 else 4)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False])
    if choice == 2:
        return rng.randint(-2**53, 2**53)
    if choice == 3:
        return rng.uniform(-1e9, 1e9)
    if choice == 4:
        return _text(rng, UNICODE, 12)
    if choice <= 6:
        return {_text(rng, UNICODE, 6): _json(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    return [_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]


# Column → random SQL value (as a pymysql parameter) and whether it may be NULL.
GENERATORS: dict[str, Any] = {
    "ti": lambda r: r.randint(-128, 127), "tiu": lambda r: r.randint(0, 255),
    "si": lambda r: r.randint(-2**15, 2**15 - 1), "siu": lambda r: r.randint(0, 2**16 - 1),
    "mi": lambda r: r.randint(-2**23, 2**23 - 1), "miu": lambda r: r.randint(0, 2**24 - 1),
    "i": lambda r: r.randint(-2**31, 2**31 - 1), "iu": lambda r: r.randint(0, 2**32 - 1),
    "bi": lambda r: r.randint(-2**63, 2**63 - 1), "biu": lambda r: r.randint(0, 2**64 - 1),
    "dec65": lambda r: _decimal(r, 35, 30), "dec52": lambda r: _decimal(r, 3, 2),
    "dec0": lambda r: _decimal(r, 10, 0), "dec18": lambda r: _decimal(r, 9, 9),
    "dec22": lambda r: _decimal(r, 0, 2), "dec40": lambda r: _decimal(r, 35, 5),
    "f": lambda r: r.uniform(-1e6, 1e6) * 10 ** r.randint(-20, 20),
    "d": lambda r: r.uniform(-1, 1) * 10 ** r.randint(-300, 300),
    "b1": lambda r: r.randint(0, 1), "b64": lambda r: r.randrange(2**64),
    "b10": lambda r: r.randrange(2**10), "bt8": lambda r: r.randrange(2**8),
    "bt17": lambda r: r.randrange(2**17),
    "dt": lambda r: _datetime(r, 0)[:10],
    "tm": lambda r: _time(r, 6), "tm0": lambda r: _time(r, 0), "tm3": lambda r: _time(r, 3),
    **{f"dt{fsp}": functools.partial(_datetime_of, fsp) for fsp in range(7)},
    "ts6": lambda r: _datetime(r, 6, 1971, 2037), "ts0": lambda r: _datetime(r, 0, 1971, 2037),
    "yr": lambda r: r.randint(1901, 2155),
    "c": lambda r: _text(r, UNICODE, 10), "vc": lambda r: _text(r, UNICODE, 100),
    "tx": lambda r: _text(r, UNICODE, 300), "vl": lambda r: _text(r, LATIN1, 50),
    "vc2": lambda r: _text(r, UNICODE, 300), "c255": lambda r: _text(r, UNICODE, 255),
    "lt": lambda r: _text(r, UNICODE, 400), "mt": lambda r: _text(r, LATIN1, 400),
    "bn": lambda r: r.randbytes(r.randint(0, 4)), "vb": lambda r: r.randbytes(r.randint(0, 300)),
    "bl": lambda r: r.randbytes(r.randint(0, 700)), "lb": lambda r: r.randbytes(r.randint(0, 70)),
    "js": lambda r: json.dumps(_json(r)),
    "en": lambda r: r.choice(["small", "medium", "large"]), "en2": lambda r: r.choice("xy"),
    "st": lambda r: ",".join(v for v in "abcd" if r.random() < 0.5),
    "st2": lambda r: ",".join(v for v in "pqrstuvwz" if r.random() < 0.4),
    "g": lambda r: f"POINT({r.uniform(-180, 180)} {r.uniform(-90, 90)})",
}
NOT_NULL = {"en2", "st2"}


def _random_row(rng: random.Random, row_id: int) -> dict[str, Any]:
    row: dict[str, Any] = {"id": row_id}
    for column, make in GENERATORS.items():
        if column in NOT_NULL or rng.random() >= 0.15:
            row[column] = make(rng)
        else:
            row[column] = None
    return row


def _placeholder(column: str) -> str:
    return "ST_GeomFromText(%s)" if column == "g" else "%s"


def _insert(cur: Any, table: str, rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    one = "(" + ", ".join(_placeholder(c) for c in columns) + ")"
    cur.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                + ", ".join([one] * len(rows)),
                [row[c] for row in rows for c in columns])


def _update(cur: Any, table: str, row_id: int, values: dict[str, Any]) -> None:
    sets = ", ".join(f"{c} = {_placeholder(c)}" for c in values)
    cur.execute(f"UPDATE {table} SET {sets} WHERE id = %s", [*values.values(), row_id])


def _write_workload(stack: StackInfo, table: str, old_table: str) -> None:
    rng = random.Random(20261123)
    with contextlib.closing(mysql(stack)) as conn, conn.cursor() as cur:
        cur.execute("SET time_zone = '+05:00'")
        for row_id, literals, _ in ROWS:  # the hand-checked rows, as literals
            columns = ", ".join(["id", *literals])
            cur.execute(f"INSERT INTO {table} ({columns}) VALUES "
                        f"({', '.join([str(row_id), *literals.values()])})")
        cur.execute(f"INSERT INTO {table} (id) VALUES (5)")  # NULL everywhere else
        # Zero and invalid dates, which the library hands out as None.
        cur.execute("SET sql_mode = 'ALLOW_INVALID_DATES'")
        cur.execute(f"INSERT INTO {table} (id, dt0, dt6, dt3, ts6, ts0) VALUES (7, "
                    "'0000-00-00 00:00:00', '2023-02-29 01:02:03.5', '2024-00-05 00:00:00',"
                    " '0000-00-00 00:00:00', '2024-02-29 23:59:59')")
        cur.execute("SET sql_mode = DEFAULT")
        cur.execute("SET time_zone = '+00:00'")
        next_id = 100
        for _ in range(30):  # single-row and multi-row statements, some in one transaction
            rows = [_random_row(rng, next_id + i) for i in range(rng.choice([1, 1, 7, 40]))]
            next_id += len(rows)
            cur.execute("BEGIN")
            _insert(cur, table, rows)
            if rng.random() < 0.5:
                _update(cur, table, rows[0]["id"], {
                    c: v for c, v in _random_row(rng, 0).items() if c != "id" and
                    rng.random() < 0.3})
            cur.execute("COMMIT")
        # Multi-row updates (two images per row), a key move, deletes of several rows.
        cur.execute(f"UPDATE {table} SET vc = CONCAT(IFNULL(vc, ''), 'ü'), ti = NULL "
                    "WHERE id BETWEEN 100 AND 160")
        cur.execute(f"UPDATE {table} SET id = id + 100000 WHERE id = 101")
        cur.execute(f"DELETE FROM {table} WHERE id BETWEEN 120 AND 150")
        cur.execute(f"INSERT INTO {old_table} VALUES (1, '2024-01-02 03:04:05', 'x')")
        cur.execute(f"UPDATE {old_table} SET v = 'y' WHERE id = 1")
        cur.execute("SET GLOBAL max_allowed_packet = 64 * 1024 * 1024")
    # A row bigger than one protocol packet (16 MiB): its event comes in several.
    with contextlib.closing(mysql(stack)) as conn, conn.cursor() as cur:
        cur.execute(f"INSERT INTO {table} (id, lb, en2, st2) VALUES (%s, %s, 'x', '')",
                    (99, rng.randbytes(17 * 1024 * 1024)))


class _Sink:
    def __init__(self) -> None:
        self.items: queue.Queue[Any] = queue.Queue()

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        self.items.put(item)


def _start_reader(stack: StackInfo, catalog: ShapeCatalog, start: Position,
                  heartbeat_s: float) -> tuple[BinlogReader, _Sink, threading.Thread]:
    """A reader of raw records from ``start``, running in a thread."""
    sink = _Sink()
    reader = BinlogReader(
        dsn=catalog_dsn(stack), flavor="mariadb", replica_id=_replica_id(), start=start,
        shapes=catalog.shapes, refresh_shapes=catalog.refresh,
        identity=SourceIdentity(1, None, 0), partitions=4, out=sink, heartbeat_s=heartbeat_s,
        raw=True)
    thread = threading.Thread(target=reader.run, daemon=True)
    thread.start()
    return reader, sink, thread


def _fast_records(stack: StackInfo, catalog: ShapeCatalog, start: Position, end_gtid: str
                  ) -> tuple[list[Record], BinlogReader]:
    """The reader's records (fast path, library where it must) up to ``end_gtid``."""
    reader, sink, thread = _start_reader(stack, catalog, start, heartbeat_s=0.2)
    records: list[Record] = []
    deadline = time.monotonic() + 60
    try:
        while not any(r[0] == "C" and r[1] == end_gtid for r in records[-5:]):
            assert time.monotonic() < deadline, "the reader never reached the end"
            try:
                item = sink.items.get(timeout=1)
            except queue.Empty:
                continue
            assert not isinstance(item, BaseException), item
            records.extend(item)
    finally:
        reader.stop()
        thread.join(10)
    return records, reader


def _library_records(stack: StackInfo, catalog: ShapeCatalog, start: Position, end_seq: int,
                     tables: list[str]) -> list[Record]:
    """Row records from the library's own events, decoded as the reader did before."""
    dsn = catalog_dsn(stack)
    stream = BinLogStreamReader(
        connection_settings={"host": dsn.host, "port": dsn.port, "user": dsn.user,
                             "password": dsn.password},
        server_id=_replica_id(), blocking=True, is_mariadb=True, auto_position=start.gtid,
        only_schemas=["app"], only_tables=tables, freeze_schema=False, enable_logging=False,
        only_events=[MariadbGtidEvent, XidEvent, WriteRowsEvent, UpdateRowsEvent,
                     DeleteRowsEvent])
    cursor = TxnCursor(start, "mariadb")
    records: list[Record] = []
    try:
        for event in stream:
            if isinstance(event, MariadbGtidEvent):
                cursor.begin(event.gtid, explicit=True)
                seq = int(event.gtid.rsplit("-", 1)[1])
            elif isinstance(event, XidEvent):
                cursor.commit()
                if seq >= end_seq:
                    break
            else:
                shape = catalog.shapes()[f"{event.schema}.{event.table}"]
                _RowsPlan(event, shape).records(event.rows, cursor, records)
    finally:
        stream.close()
    return records


def catalog_dsn(stack: StackInfo) -> Any:
    from schemas.config import Dsn  # noqa: PLC0415

    return Dsn(stack.repl_dsn)


def _replica_id() -> int:
    return 200_000 + uuid.uuid4().int % 1_000_000


def test_fast_path_decodes_exactly_as_the_library(stack: StackInfo,
                                                   caplog: pytest.LogCaptureFixture,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    ensure_app_schema(stack)
    name = unique_name("cdc_fast")
    old = f"{name}_old"
    setup = cdc_setup(stack, {
        f"app.{name}": {"cache_keys": [f"{name}:{{id}}"]},
        f"app.{old}": {"cache_keys": [f"{old}:{{id}}"]},
    }, name=name)
    with contextlib.closing(mysql(stack)) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {name} ({COLUMNS}{EXTRA_COLUMNS}) CHARACTER SET utf8mb4")
        # A column type the codec does not decode: DATETIME in the old binlog format.
        cur.execute("SET GLOBAL mysql56_temporal_format = OFF")
        try:
            cur.execute(f"CREATE TABLE {old} (id INT PRIMARY KEY, t DATETIME, v CHAR(1))")
        finally:
            cur.execute("SET GLOBAL mysql56_temporal_format = ON")
        cur.execute("SELECT @@GLOBAL.gtid_binlog_pos")
        start = Position(str(cur.fetchone()[0]), "", 0)  # type: ignore[index]
    catalog = ShapeCatalog(setup.settings, db.create_engine(setup.settings.source.dsn, ""))
    catalog.refresh()
    _write_workload(stack, name, old)
    with contextlib.closing(mysql(stack)) as conn, conn.cursor() as cur:
        cur.execute("SELECT @@GLOBAL.gtid_binlog_pos")
        end_gtid = str(cur.fetchone()[0])  # type: ignore[index]
    # Rows events the reader decodes in Python: the first of each table map, before the
    # stream's compiled core follows the table; the core decodes every other one.
    in_python: list[str] = []
    decode = BinlogReader._decode

    def counted(self: BinlogReader, stream: Any, event: Any, shape: Any) -> Any:
        in_python.append(event.name)
        return decode(self, stream, event, shape)

    monkeypatch.setattr(BinlogReader, "_decode", counted)
    fast, reader = _fast_records(stack, catalog, start, end_gtid)
    # The main table went through a codec (no event of it fell back), the old-format one
    # through the library.
    assert not [r for r in caplog.records if "fast decoder failed" in r.getMessage()]
    assert reader._codecs[f"app.{name}"][2] is not None
    assert reader._codecs[f"app.{old}"][2] is None
    expected = _library_records(stack, catalog, start, int(end_gtid.rsplit("-", 1)[1]),
                                [name, old])
    rows = [r for r in fast if r[0] == "R"]
    assert len(rows) == len(expected) > 500
    assert 1 <= in_python.count(f"app.{name}") <= 3, in_python
    assert {r[1] for r in rows} == {"insert", "update", "delete"}
    for got, want in zip(rows, expected, strict=True):
        assert got == want
        assert msgspec.json.encode(got) == msgspec.json.encode(want)
    # The hand-checked rows came through the fast path with their known values.
    by_id = {r[4]["id"]: r[4] for r in rows if r[1] == "insert" and r[2] == f"app.{name}"}
    assert by_id[1]["vb"] == base64.b64encode(bytes(range(256))).decode()
    assert by_id[1]["dec65"] == str(Decimal(
        "12345678901234567890123456789012345.123456789012345678901234567890"))
    assert len(base64.b64decode(by_id[99]["lb"])) == 17 * 1024 * 1024
    assert by_id[7]["dt6"] is None and by_id[7]["dt3"] is None
    assert by_id[7]["ts0"] == "2024-02-29T18:59:59.000000"  # written at +05:00
    old_rows = [r for r in rows if r[2] == f"app.{old}"]
    assert [r[1] for r in old_rows] == ["insert", "update"]
    assert old_rows[0][4] == {"id": 1, "t": "2024-01-02T03:04:05.000000", "v": "x"}



def test_rows_are_sent_when_the_source_goes_quiet(stack: StackInfo) -> None:
    """The reader keeps its records up to ``BATCH_SECONDS`` for more to come; when the
    source goes quiet it sends them then, not at the source's next heartbeat (5 s here)."""
    ensure_app_schema(stack)
    name = unique_name("cdc_quiet")
    setup = cdc_setup(stack, {f"app.{name}": {"cache_keys": [f"{name}:{{id}}"]}}, name=name)
    with contextlib.closing(mysql(stack)) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {name} (id INT PRIMARY KEY)")
        cur.execute("SELECT @@GLOBAL.gtid_binlog_pos")
        start = Position(str(cur.fetchone()[0]), "", 0)  # type: ignore[index]
    catalog = ShapeCatalog(setup.settings, db.create_engine(setup.settings.source.dsn, ""))
    catalog.refresh()
    reader, sink, thread = _start_reader(stack, catalog, start, heartbeat_s=5.0)
    try:
        time.sleep(1.0)  # connected and idle
        with contextlib.closing(mysql(stack)) as conn, conn.cursor() as cur:
            # Two transactions at once: the second comes within BATCH_SECONDS of the
            # reader's last send, so the reader keeps it for more.
            cur.execute(f"INSERT INTO {name} VALUES (1)")
            cur.execute(f"INSERT INTO {name} VALUES (2)")
            committed = time.monotonic()
            cur.execute("SELECT @@GLOBAL.gtid_binlog_pos")
            end_gtid = str(cur.fetchone()[0])  # type: ignore[index]
        records: list[Record] = []
        while not any(r[0] == "C" and r[1] == end_gtid for r in records):
            item = sink.items.get(timeout=10)
            assert not isinstance(item, BaseException), item
            records.extend(item)
        waited = time.monotonic() - committed
    finally:
        reader.stop()
        thread.join(10)
    assert [r[4]["id"] for r in records if r[0] == "R"] == [1, 2]
    assert waited < 1.0, f"the rows waited {waited:.2f} s for the next heartbeat"
