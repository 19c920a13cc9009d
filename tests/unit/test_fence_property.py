"""Any shuffle and duplication of each key's events ends where applying them once does."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings

from schemas.events import ChangeEvent
from tests.fakes import FencedStore
from tests.fence_property import apply_all, deliveries


@settings(max_examples=300, deadline=None)
@given(deliveries())
def test_fence_converges(case: tuple[list[ChangeEvent], list[ChangeEvent]]) -> None:
    ordered, shuffled = case
    once, messy = FencedStore(), FencedStore()
    asyncio.run(apply_all(once, ordered, batch=1))
    asyncio.run(apply_all(messy, shuffled, batch=3))
    assert messy.data == once.data
