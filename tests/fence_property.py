"""The convergence property, shared by the fake-store unit test and the real-Redis test."""

from __future__ import annotations

from hypothesis import strategies as st

from consumers.decide import decide
from schemas.actions import CacheAction, CacheStore
from schemas.config import TableConfig
from schemas.events import ChangeEvent, Op, Source
from schemas.versions import binlog_version

RULE = TableConfig(cache_keys=["p:{id}"], action="rewrite", ttl_seconds=600,
                   tombstone_ttl_seconds=600)


def history(key_id: int, ops: list[tuple[Op, str]], prefix: str) -> list[ChangeEvent]:
    """One key's events in commit order, with increasing binlog versions."""
    events = []
    for n, (op, name) in enumerate(ops, start=1):
        image = {"id": f"{prefix}{key_id}", "name": name}
        events.append(ChangeEvent(
            op=op, table="app.p", pk={"id": key_id}, key=str(key_id),
            before=image if op != "insert" else None, after=image if op != "delete" else None,
            version=binlog_version(0, 1, 1000 + n * 10, 1),
            source=Source(server_id=1, file="b.000001", pos=1000 + n * 10, row_index=1,
                          ts_ms=0),
        ))
    return events


OPS: tuple[Op, ...] = ("insert", "update", "delete")
ops = st.lists(st.tuples(st.sampled_from(OPS),
                         st.text("abc", max_size=3)), min_size=1, max_size=6)
histories = st.lists(ops, min_size=1, max_size=4)


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[ChangeEvent], list[ChangeEvent]]:
    """(events once in order, the same events shuffled with duplicates); the key ids carry a
    random prefix so examples run against a shared Redis never meet."""
    prefix = draw(st.uuids()).hex[:12]
    ordered = [e for i, h in enumerate(draw(histories)) for e in history(i, h, prefix)]
    duplicated = ordered + draw(st.lists(st.sampled_from(ordered), max_size=len(ordered)))
    return ordered, draw(st.permutations(duplicated))


async def apply_all(store: CacheStore, events: list[ChangeEvent], *, batch: int) -> None:
    actions: list[CacheAction] = [a for e in events for a in decide(e, RULE)]
    for start in range(0, len(actions), batch):
        await store.apply(actions[start:start + batch])
