"""Coalescing concurrent fenced writes into one call (consumers/coalesce.py)."""

from __future__ import annotations

import asyncio

import pytest

from consumers.coalesce import CoalescingStore, split
from consumers.store import FenceRefused, pack
from schemas.actions import CacheAction, Outcome
from tests.fakes import FencedStore

A, F = Outcome.APPLIED, Outcome.FENCED


@pytest.mark.parametrize(("outcomes", "refused", "sizes", "expected"), [
    ([A], {}, [1], [([A], {})]),
    ([A, F, A], {}, [1, 2], [([A], {}), ([F, A], {})]),
    ([A, F, F, A], {2: "WRONGTYPE"}, [2, 2], [([A, F], {}), ([F, A], {0: "WRONGTYPE"})]),
    ([F, F, A], {0: "x", 1: "y"}, [1, 1, 1], [([F], {0: "x"}), ([F], {0: "y"}), ([A], {})]),
    ([A, A], {}, [0, 2, 0], [([], {}), ([A, A], {}), ([], {})]),
])
def test_split_gives_each_caller_its_own_part(
        outcomes: list[Outcome], refused: dict[int, str], sizes: list[int],
        expected: list[tuple[list[Outcome], dict[int, str]]]) -> None:
    assert split(outcomes, refused, sizes) == expected


def test_split_refuses_sizes_that_do_not_add_up() -> None:
    with pytest.raises(ValueError, match="3 outcomes for parts of"):
        split([A, A, A], {}, [1, 1])


def _put(key: str, version: int) -> CacheAction:
    return CacheAction("rewrite", key, f"{version:032x}", 60, f"v{version}".encode())


def _unpack(key: str, arg: bytes) -> CacheAction:
    """An action back from the fence's argument (consumers.store.pack)."""
    return CacheAction("invalidate" if arg[:1] == b"x" else "rewrite", key, arg[1:33].decode(),
                       int(arg[33:43]), None if arg[:1] == b"x" else arg[43:])


async def _apply(store: CoalescingStore, actions: list[CacheAction]) -> list[Outcome]:
    return await store.apply_packed([a.key for a in actions], [pack(a) for a in actions])


class _Recording(FencedStore):
    """The fake fence, recording each call's actions and refusing or failing on demand."""

    def __init__(self) -> None:
        super().__init__("east")
        self.calls: list[list[str]] = []
        self.refuse: set[str] = set()
        self.fail: BaseException | None = None

    async def apply_packed(self, keys: list[str], packed: list[bytes]) -> list[Outcome]:
        actions = [_unpack(key, arg) for key, arg in zip(keys, packed, strict=True)]
        self.calls.append([f"{a.key}@{int(a.version, 16)}" for a in actions])
        await asyncio.sleep(0)  # a round trip: callers may be cancelled meanwhile
        if self.fail is not None:
            raise self.fail
        allowed = [a for a in actions if a.key not in self.refuse]
        landed = iter(await super().apply(allowed))
        outcomes = [F if a.key in self.refuse else next(landed) for a in actions]
        refused = {i: "WRONGTYPE" for i, a in enumerate(actions) if a.key in self.refuse}
        if refused:
            raise FenceRefused(outcomes, refused)
        return outcomes


async def test_calls_in_one_turn_share_one_call_in_order() -> None:
    store = _Recording()
    coalescing = CoalescingStore(store)
    results = await asyncio.gather(
        _apply(coalescing, [_put("a", 1), _put("a", 2)]),
        _apply(coalescing, [_put("b", 5)]),
        _apply(coalescing, [_put("a", 1)]),  # behind a@2 in the same call: fenced
    )
    assert store.calls == [["a@1", "a@2", "b@5", "a@1"]]
    assert list(results) == [[A, A], [A], [F]]
    assert store.data["a"].version == f"{2:032x}"


async def test_calls_in_later_turns_make_later_calls() -> None:
    store = _Recording()
    coalescing = CoalescingStore(store)
    assert await _apply(coalescing, [_put("a", 1)]) == [A]
    assert await _apply(coalescing, [_put("a", 2)]) == [A]
    assert await _apply(coalescing, []) == []
    assert store.calls == [["a@1"], ["a@2"]]


async def test_a_refusal_goes_to_its_caller_only() -> None:
    store = _Recording()
    store.refuse = {"bad"}
    coalescing = CoalescingStore(store)
    good, bad = await asyncio.gather(
        _apply(coalescing, [_put("a", 1)]),
        _apply(coalescing, [_put("b", 1), _put("bad", 1)]),
        return_exceptions=True)
    assert good == [A]
    assert isinstance(bad, FenceRefused)
    assert bad.outcomes == [A, F]
    assert bad.refused == {1: "WRONGTYPE"}


async def test_a_failed_call_fails_every_caller_and_a_retry_goes_through() -> None:
    store = _Recording()
    store.fail = ConnectionError("redis is down")
    coalescing = CoalescingStore(store)
    results = await asyncio.gather(_apply(coalescing, [_put("a", 1)]),
                                   _apply(coalescing, [_put("b", 1)]), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    store.fail = None
    assert await _apply(coalescing, [_put("a", 1)]) == [A]
    assert store.data.keys() == {"a"}


async def test_a_cancelled_caller_leaves_the_others_their_outcomes() -> None:
    store = _Recording()
    coalescing = CoalescingStore(store)
    cancelled = asyncio.create_task(_apply(coalescing, [_put("a", 1)]))
    kept = asyncio.create_task(_apply(coalescing, [_put("b", 1)]))
    await asyncio.sleep(0)  # both queued; the shared call starts
    await asyncio.sleep(0)
    cancelled.cancel()
    assert await kept == [A]
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert store.calls == [["a@1", "b@1"]]  # its actions went out all the same
