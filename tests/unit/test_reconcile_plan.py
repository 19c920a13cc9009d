"""Keyset predicates, cursors, chunk sizes, key patterns and the rate limiter."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from reconciler.keys import key_pattern
from reconciler.keyset import (
    CursorError,
    chunk_query,
    chunk_size,
    decode_cursor,
    encode_cursor,
    select_columns,
)
from reconciler.ratelimit import TokenBucket

META = sa.MetaData()
SINGLE = sa.Table("users", META, sa.Column("id", sa.Integer, primary_key=True),
                  sa.Column("name", sa.String(10)), schema="app")
COMPOSITE = sa.Table(
    "balances", META,
    sa.Column("user_id", sa.Integer, primary_key=True),
    sa.Column("currency", sa.String(3), primary_key=True),
    sa.Column("amount", sa.Numeric(10, 2)),
    schema="app",
)


def sql(query: sa.Select[object]) -> str:
    compiled = query.compile(dialect=mysql.dialect(), compile_kwargs={"literal_binds": True})
    return " ".join(str(compiled).split())


@pytest.mark.parametrize(("table", "pk", "last", "expected"), [
    (SINGLE, ("id",), None,
     "SELECT app.users.id, app.users.name FROM app.users ORDER BY app.users.id LIMIT 100"),
    (SINGLE, ("id",), (41,),
     "SELECT app.users.id, app.users.name FROM app.users WHERE app.users.id > 41 "
     "ORDER BY app.users.id LIMIT 100"),
    (COMPOSITE, ("user_id", "currency"), (7, "EUR"),
     "SELECT app.balances.user_id, app.balances.currency FROM app.balances "
     "WHERE app.balances.user_id >= 7 AND (app.balances.user_id, app.balances.currency) "
     "> (7, 'EUR') ORDER BY app.balances.user_id, app.balances.currency LIMIT 100"),
])
def test_chunk_query_is_keyset_never_offset(table: sa.Table, pk: tuple[str, ...],
                                            last: tuple[object, ...] | None,
                                            expected: str) -> None:
    columns = ["id", "name"] if table is SINGLE else ["user_id", "currency"]
    text = sql(chunk_query(table, columns, pk, last, 100))
    assert text == expected
    assert "OFFSET" not in text


def test_cursor_arity_must_match_the_key() -> None:
    with pytest.raises(CursorError):
        chunk_query(COMPOSITE, ["user_id"], ("user_id", "currency"), (1,), 10)


@pytest.mark.parametrize("values", [
    (1, "a"),
    (Decimal("12.50"), dt.datetime(2026, 1, 2, 3, 4, 5, 6)),
    (dt.date(2026, 1, 2), b"\x00\xff", dt.timedelta(hours=1, microseconds=3), 0.1, None),
])
def test_cursor_round_trips_exactly(values: tuple[object, ...]) -> None:
    assert decode_cursor(json.loads(json.dumps(encode_cursor(values)))) == values


@pytest.mark.parametrize("stored", ["x", [{"nope": 1}], [{"a": 1, "b": 2}]])
def test_bad_cursor(stored: object) -> None:
    with pytest.raises(CursorError):
        decode_cursor(stored)


@pytest.mark.parametrize(("needed", "expected"), [
    (None, ["id", "a", "b", "c"]),
    (["c", "a"], ["id", "a", "c"]),
])
def test_select_columns(needed: list[str] | None, expected: list[str]) -> None:
    assert select_columns(["id", "a", "b", "c"], ["id"], needed, []) == expected


@pytest.mark.parametrize(("rate", "expected"), [(None, 5000), (1_000_000, 5000), (1000, 500),
                                                (4, 10)])
def test_chunk_size(rate: float | None, expected: int) -> None:
    assert chunk_size(rate, default=5000) == expected


@pytest.mark.parametrize(("template", "glob", "key", "fields"), [
    ("user:{id}", "user:*", "user:42", {"id": "42"}),
    ("user:{id}", "user:*", "user:42:profile", None),
    ("user:{user_id}:balance:{currency}", "user:*:balance:*", "user:7:balance:EUR",
     {"user_id": "7", "currency": "EUR"}),
    ("user:{user_id}:balance:{currency}", "user:*:balance:*", "user:7:x:balance:EUR", None),
    ("a[{id}]*", "a\\[*\\]\\*", "a[5]*", {"id": "5"}),
    ("{a}-{a}", "*-*", "x-x", {"a": "x"}),
    ("{a}-{a}", "*-*", "x-y", None),
    ("p{id}", "p*", "p12", {"id": "12"}),
])
def test_key_patterns(template: str, glob: str, key: str,
                      fields: dict[str, str] | None) -> None:
    pattern = key_pattern(template)
    assert pattern.glob == glob
    assert pattern.parse(key) == fields


def test_token_bucket_paces_to_the_rate() -> None:
    bucket = TokenBucket(rate_per_s=100)
    assert bucket.delay_for(100, now=0.0) == 0.0  # one second of budget up front
    assert bucket.delay_for(50, now=0.0) == pytest.approx(0.5)
    assert bucket.delay_for(50, now=1.0) == pytest.approx(0.0)
    # An idle minute does not bank more than one second of tokens.
    assert bucket.delay_for(200, now=61.0) == pytest.approx(1.0)
