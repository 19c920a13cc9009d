"""The reader process's pipe framing (no services, no child process)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle

from cdc.reader_process import _Frames, _PipeSink


def _frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(8, "big") + payload


class _Transport(asyncio.ReadTransport):
    def __init__(self) -> None:
        super().__init__()
        self.reading = True

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def is_reading(self) -> bool:
        return self.reading

    def is_closing(self) -> bool:
        return False


async def test_frames_split_across_reads_come_out_whole() -> None:
    frames = _Frames(limit=8)
    frames.connection_made(_Transport())
    data = _frame(b"first") + _frame(b"") + _frame(b"x" * 70_000)
    for i in range(0, len(data), 4096):  # a pipe hands out arbitrary chunks
        frames.data_received(data[i:i + 4096])
    got = [frames.frames.get_nowait() for _ in range(3)]
    assert got == [b"first", b"", b"x" * 70_000]
    frames.eof_received()
    assert frames.frames.get_nowait() is None


async def test_reading_pauses_while_the_queue_is_full() -> None:
    transport = _Transport()
    frames = _Frames(limit=2)
    frames.connection_made(transport)
    frames.data_received(_frame(b"a") + _frame(b"b"))
    assert not transport.reading
    frames.frames.get_nowait()
    frames.taken()
    assert transport.reading


def test_the_sink_writes_frames_and_errors_that_cannot_be_pickled_as_text() -> None:
    receive, send = os.pipe()
    sink = _PipeSink(send)
    sink.put([("C", "0-1-5", "b.000001", 400, 1)])

    class Unpicklable(Exception):
        def __reduce__(self) -> str:
            raise TypeError("no")

    sink.put(Unpicklable("boom"))
    os.set_blocking(receive, False)
    raw = b""
    with contextlib.suppress(BlockingIOError):
        while chunk := os.read(receive, 1 << 16):
            raw += chunk
    frames = _Frames(limit=8)
    frames.connection_made(_Transport())
    frames.data_received(raw)
    batch, failure = frames.frames.get_nowait(), frames.frames.get_nowait()
    assert batch is not None and failure is not None
    assert pickle.loads(batch) == [("C", "0-1-5", "b.000001", 400, 1)]
    error = pickle.loads(failure)
    assert isinstance(error, RuntimeError)
    assert "Unpicklable: boom" in str(error)
    os.close(receive)
    os.close(send)
