"""Every column type through the real binlog → worker → Kafka path, compared exactly.

The expected wire values are written out by hand from what the test inserts (see
``schemas/types.md``), not computed by the code under test.
"""

from __future__ import annotations

import base64
import contextlib
import re
import struct
from typing import Any

from cachesync.stack import StackInfo
from tests.integration.conftest import unique_name
from tests.integration.test_cdc_support import (
    cdc_setup,
    consume,
    ensure_app_schema,
    mysql,
    running_worker,
    start_here,
)

COLUMNS = """
    id INT PRIMARY KEY,
    ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED,
    mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED,
    bi BIGINT, biu BIGINT UNSIGNED,
    dec65 DECIMAL(65,30), dec52 DECIMAL(5,2),
    f FLOAT, d DOUBLE,
    b1 BIT(1), b64 BIT(64), b10 BIT(10),
    dt DATE, tm TIME(6), tm0 TIME, tm3 TIME(3),
    dt0 DATETIME(0), dt1 DATETIME(1), dt2 DATETIME(2), dt3 DATETIME(3), dt4 DATETIME(4),
    dt5 DATETIME(5), dt6 DATETIME(6), ts6 TIMESTAMP(6) NULL DEFAULT NULL,
    yr YEAR,
    c CHAR(10) CHARACTER SET utf8mb4, vc VARCHAR(100) CHARACTER SET utf8mb4,
    tx TEXT CHARACTER SET utf8mb4, vl VARCHAR(50) CHARACTER SET latin1,
    bn BINARY(4), vb VARBINARY(300), bl BLOB,
    js JSON, en ENUM('small','medium','large'), st SET('a','b','c','d'),
    g POINT
"""

ALL_BYTES = bytes(range(256))


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _point_wkb(x: float, y: float) -> bytes:
    # MySQL's internal geometry: 4-byte SRID (0) + WKB (little endian, type 1 = POINT).
    return struct.pack("<IBIdd", 0, 1, 1, x, y)


# (id, {column: SQL literal}, {column: expected wire value}); unlisted columns are NULL.
ROWS: list[tuple[int, dict[str, str], dict[str, Any]]] = [
    (1, {
        "ti": "-128", "tiu": "255", "si": "-32768", "siu": "65535",
        "mi": "-8388608", "miu": "16777215", "i": "-2147483648", "iu": "4294967295",
        "bi": "-9223372036854775808", "biu": "18446744073709551615",
        "dec65": "'12345678901234567890123456789012345.123456789012345678901234567890'",
        "dec52": "'-999.99'",
        "f": "1.5", "d": "0.1",
        "b1": "b'1'",
        "b64": "b'" + "1" * 64 + "'",
        "b10": "b'1000000001'",
        "dt": "'2024-02-29'", "tm": "'-838:59:59.000000'", "tm0": "'-12:34:56'",
        "tm3": "'-00:00:00.001'",
        "dt0": "'2024-01-02 03:04:05'", "dt1": "'2024-01-02 03:04:05.1'",
        "dt2": "'2024-01-02 03:04:05.12'", "dt3": "'2024-01-02 03:04:05.123'",
        "dt4": "'2024-01-02 03:04:05.1234'", "dt5": "'2024-01-02 03:04:05.12345'",
        "dt6": "'2024-01-02 03:04:05.123456'",
        # Inserted in session time zone +05:00: stored and published as UTC.
        "ts6": "'2024-05-06 12:08:09.654321'",
        "yr": "2155",
        "c": "'héllo😀'", "vc": "'emoji 😀 and ünïcode ✓'", "tx": "'long text 🎉'",
        "vl": "'café Müller'",
        "bn": "x'00FF7F80'", "vb": "x'" + ALL_BYTES.hex() + "'", "bl": "x'DEADBEEF00'",
        "js": """'{"a": [1, 2.5, "x", null, true], "b": {"c": "😀"}, "n": 12345678901234}'""",
        "en": "'medium'", "st": "'d,a,c'",
        "g": "ST_GeomFromText('POINT(1.5 -2.25)')",
    }, {
        "ti": -128, "tiu": 255, "si": -32768, "siu": 65535,
        "mi": -8388608, "miu": 16777215, "i": -2147483648, "iu": 4294967295,
        "bi": -9223372036854775808, "biu": 18446744073709551615,
        "dec65": "12345678901234567890123456789012345.123456789012345678901234567890",
        "dec52": "-999.99",
        "f": 1.5, "d": 0.1,
        "b1": 1, "b64": 2**64 - 1, "b10": 513,
        "dt": "2024-02-29", "tm": "-838:59:59.000000", "tm0": "-12:34:56.000000",
        "tm3": "-00:00:00.001000",
        "dt0": "2024-01-02T03:04:05.000000", "dt1": "2024-01-02T03:04:05.100000",
        "dt2": "2024-01-02T03:04:05.120000", "dt3": "2024-01-02T03:04:05.123000",
        "dt4": "2024-01-02T03:04:05.123400", "dt5": "2024-01-02T03:04:05.123450",
        "dt6": "2024-01-02T03:04:05.123456",
        "ts6": "2024-05-06T07:08:09.654321",
        "yr": 2155,
        "c": "héllo😀", "vc": "emoji 😀 and ünïcode ✓", "tx": "long text 🎉",
        "vl": "café Müller",
        "bn": _b64(b"\x00\xff\x7f\x80"), "vb": _b64(ALL_BYTES),
        "bl": _b64(b"\xde\xad\xbe\xef\x00"),
        "js": {"a": [1, 2.5, "x", None, True], "b": {"c": "😀"}, "n": 12345678901234},
        "en": "medium", "st": ["a", "c", "d"],
        "g": _b64(_point_wkb(1.5, -2.25)),
    }),
    (2, {
        "ti": "127", "tiu": "0", "si": "32767", "siu": "0", "mi": "8388607", "miu": "0",
        "i": "2147483647", "iu": "0", "bi": "9223372036854775807", "biu": "0",
        "dec65": "'-0.000000000000000000000000000001'", "dec52": "'1.5'",
        "f": "-0.25", "d": "-1.7976931348623157e308",
        "b1": "b'0'", "b64": "b'0'", "b10": "b'0'",
        "dt": "'1000-01-01'", "tm": "'-00:00:01.500000'", "tm0": "'838:59:59'",
        "tm3": "'-01:00:00.5'",
        "dt0": "'9999-12-31 23:59:59'", "dt6": "'1970-01-01 00:00:00.000001'",
        "ts6": "'1970-01-01 05:00:01.000000'",
        "yr": "1901", "c": "''", "vc": "''", "tx": "''", "vl": "'\\\\ÿ'",
        "bn": "x'00000000'", "vb": "x''", "bl": "x''",
        "js": "'[]'", "en": "'small'", "st": "''",
    }, {
        "ti": 127, "tiu": 0, "si": 32767, "siu": 0, "mi": 8388607, "miu": 0,
        "i": 2147483647, "iu": 0, "bi": 9223372036854775807, "biu": 0,
        "dec65": "-0.000000000000000000000000000001", "dec52": "1.50",
        "f": -0.25, "d": -1.7976931348623157e308,
        "b1": 0, "b64": 0, "b10": 0,
        "dt": "1000-01-01", "tm": "-00:00:01.500000", "tm0": "838:59:59.000000",
        "tm3": "-01:00:00.500000",
        "dt0": "9999-12-31T23:59:59.000000", "dt6": "1970-01-01T00:00:00.000001",
        "ts6": "1970-01-01T00:00:01.000000",
        "yr": 1901, "c": "", "vc": "", "tx": "", "vl": "\\ÿ",
        "bn": _b64(b"\0\0\0\0"), "vb": "", "bl": "",
        "js": [], "en": "small", "st": [],
    }),
    (3, {
        "tm": "'123:45:06.789012'", "tm0": "'00:00:00'", "dec65": "'0'",
        "js": """'"just a string"'""", "st": "'b'",
        "b64": "b'1" + "0" * 62 + "1'",
        "d": "123456789.123456789", "dt": "'9999-12-31'", "f": "0.1",
    }, {
        "tm": "123:45:06.789012", "tm0": "00:00:00.000000",
        "dec65": "0.000000000000000000000000000000",
        "js": "just a string", "st": ["b"], "b64": 2**63 + 1,
        "d": 123456789.123456789, "dt": "9999-12-31", "f": 0.1,
    }),
    (4, {"tm": "'-01:02:03.000004'", "js": "'null'", "tm0": "'-838:59:58.999999'",
         "f": "16777217"},
     # FLOAT: 6 significant digits, as a SELECT shows it; MariaDB truncates TIME(0).
     {"tm": "-01:02:03.000004", "js": None, "tm0": "-838:59:58.000000", "f": 16777200.0}),
    (6, {"tm": "'-838:59:58.999999'", "tm3": "'-838:59:58.999'"},
     {"tm": "-838:59:58.999999", "tm3": "-838:59:58.999000"}),
]

COLUMN_NAMES = re.findall(r"(?<![\w'(])([a-z]\w*) (?=[A-Z])", COLUMNS)


def _full_expected(row_id: int, values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = dict.fromkeys(COLUMN_NAMES)
    out["id"] = row_id
    out.update(values)
    return out


async def test_every_type_reaches_kafka_exactly(stack: StackInfo) -> None:
    ensure_app_schema(stack)
    name = unique_name("cdc_types")
    table = f"app.{name}"
    setup_tables = {table: {"cache_keys": [f"{name}:{{id}}"], "action": "rewrite"}}
    with contextlib.closing(mysql(stack)) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {name} ({COLUMNS}) CHARACTER SET utf8mb4")
        setup = cdc_setup(stack, setup_tables, name=name)
        start_here(setup)
        cur.execute("SET time_zone = '+05:00'")
        for row_id, literals, _ in ROWS:
            columns = ", ".join(["id", *literals])
            values = ", ".join([str(row_id), *literals.values()])
            cur.execute(f"INSERT INTO {name} ({columns}) VALUES ({values})")
        # A row of NULLs everywhere but the key, then an update and a delete of it.
        cur.execute(f"INSERT INTO {name} (id) VALUES (5)")
        cur.execute(f"UPDATE {name} SET vc = 'now set', st = 'a,b' WHERE id = 5")
        cur.execute(f"DELETE FROM {name} WHERE id = 5")
    async with running_worker(setup.settings):
        records = await consume(stack.kafka_bootstrap, setup.topic,
                                until=lambda got: len(got) >= len(ROWS) + 3)
    assert len(records) == len(ROWS) + 3
    by_op: dict[tuple[str, int], Any] = {
        (r.event.op, r.event.pk["id"]): r.event for r in records
    }
    for row_id, _, expected in ROWS:
        event = by_op[("insert", row_id)]
        assert event.after is not None
        want = _full_expected(row_id, expected)
        mismatched = {
            column: (event.after.get(column), want[column])
            for column in want
            if event.after.get(column) != want[column]
            or type(event.after.get(column)) is not type(want[column])
        }
        assert mismatched == {}, f"row {row_id}: column: (got, expected) {mismatched}"
        assert set(event.after) == set(want)
        assert event.key == str(row_id)
        assert event.before is None

    nulls = _full_expected(5, {})
    assert by_op[("insert", 5)].after == nulls
    update = by_op[("update", 5)]
    assert update.before == nulls
    assert update.after == nulls | {"vc": "now set", "st": ["a", "b"]}
    delete = by_op[("delete", 5)]
    assert delete.before == nulls | {"vc": "now set", "st": ["a", "b"]}
    assert delete.after is None
