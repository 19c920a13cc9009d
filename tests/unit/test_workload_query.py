"""The cache-aside readers' query: one row by primary key, names quoted."""

from __future__ import annotations

import pytest

from cachesync.workload import select_by_pk


@pytest.mark.parametrize(("table", "columns", "pk", "sql"), [
    ("app.users", ["id", "name"], ["id"],
     "SELECT `id`, `name` FROM `app`.`users` WHERE `id` = %s"),
    ("app.balances", ["user_id", "currency", "amount"], ["user_id", "currency"],
     "SELECT `user_id`, `currency`, `amount` FROM `app`.`balances` "
     "WHERE `user_id` = %s AND `currency` = %s"),
    ("odd.t`x", ["a`b"], ["a`b"],  # a backtick in a name is doubled, not an injection
     "SELECT `a``b` FROM `odd`.`t``x` WHERE `a``b` = %s"),
])
def test_select_by_pk(table: str, columns: list[str], pk: list[str], sql: str) -> None:
    assert select_by_pk(table, columns, pk) == sql
