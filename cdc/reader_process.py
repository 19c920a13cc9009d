"""The binlog reader in a child process, so decoding and publishing use two cores.

Decoding the binlog (python-mysql-replication) and normalizing rows is pure-Python CPU
work; so is the Kafka client. In one process they share one GIL, and the reader, which
blocks on its socket every few kilobytes, waits for the GIL behind the producer each time
(measured: a third of the plain library's speed). In a child process the reader runs at
the library's own pace, in the child's only busy thread: it decodes each row into its wire
image and writes the records (:mod:`cdc.assemble`, plain tuples that pickle fast) to a
pipe; the parent assembles, encodes and sends them. A slow Kafka fills the pipe and blocks
the reader, so memory stays bounded.

The child holds no state worth saving (the checkpoint is the parent's), so stopping it is
killing it. It also dies with its parent (``PR_SET_PDEATHSIG``): an orphaned reader would
keep the replica ``server_id`` and fight the restarted worker's reader for it. It is a plain
``python -m cdc.reader_process FD`` (its job pickled on its stdin, its pipe's end ``FD``),
not a ``multiprocessing`` process: that would start multiprocessing's resource tracker
too, a third process of 13 MiB that the worker has no use for.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import pickle
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Final

from cachesync import db, gctune
from cachesync.logs import JsonFormatter, setup_logging
from cdc.assemble import Assembler, Batch, Record
from cdc.catalog import ShapeCatalog
from cdc.position import Position, SourceIdentity
from cdc.reader import BinlogReader
from schemas.config import Settings

log = logging.getLogger(__name__)

STOP_TIMEOUT_S: Final = 10.0
QUEUE_BATCHES: Final = 8
_HEADER: Final = 8
_PR_SET_PDEATHSIG: Final = 1
_READER_GC_YOUNG: Final = 10_000
"""The reader's young generation (see :func:`_child`)."""


class ReaderDied(RuntimeError):
    """The reader process ended without reporting an error (killed, or crashed)."""


class _PipeSink:
    """The child's end: writes each batch (or the error that ended the stream) at once,
    as an 8-byte big-endian length and the pickle, to the pipe ``fd``."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def put(self, item: list[Record] | BaseException, block: bool = True,
            timeout: float | None = None) -> None:
        if isinstance(item, BaseException):
            try:
                payload = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # noqa: BLE001 - any pickling failure: send it as text
                payload = pickle.dumps(RuntimeError(f"{type(item).__name__}: {item}"))
        else:
            payload = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
        data = memoryview(len(payload).to_bytes(_HEADER, "big") + payload)
        fd = self._fd
        while data:
            data = data[os.write(fd, data):]


class _Frames(asyncio.Protocol):
    """The parent's end, on the event loop (no thread, so no GIL hand-offs per read):
    splits the pipe into frames, and pauses reading while ``limit`` frames wait."""

    def __init__(self, limit: int) -> None:
        self.frames: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._limit = limit
        self._buffer = bytearray()
        self._transport: asyncio.ReadTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.ReadTransport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        while len(buffer) >= _HEADER:
            size = int.from_bytes(buffer[:_HEADER], "big")
            if len(buffer) < _HEADER + size:
                break
            self.frames.put_nowait(bytes(buffer[_HEADER:_HEADER + size]))
            del buffer[:_HEADER + size]
        if self.frames.qsize() >= self._limit and self._transport is not None:
            self._transport.pause_reading()

    def taken(self) -> None:
        """A frame was taken: read on if there is room again."""
        if self._transport is not None and self.frames.qsize() < self._limit \
                and not self._transport.is_reading() and not self._transport.is_closing():
            self._transport.resume_reading()

    def eof_received(self) -> bool | None:
        self.frames.put_nowait(None)
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.frames.put_nowait(None)


@dataclass(frozen=True)
class _Job:
    """What the child needs (pickled to it at spawn)."""

    settings: Settings
    start: Position
    identity: SourceIdentity
    parent: int
    log_level: str
    log_json: bool


def _die_with_parent(parent: int) -> None:
    if sys.platform == "linux":
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def main() -> None:
    """The child process: ``python -m cdc.reader_process FD``, its :class:`_Job` pickled on
    its stdin."""
    _child(pickle.load(sys.stdin.buffer), int(sys.argv[1]))


def _child(job: _Job, fd: int) -> None:
    """Child process body: stream until killed; the error that ends it goes to ``fd``."""
    _die_with_parent(job.parent)
    # The parent owns shutdown (SIGTERM/SIGINT reach the whole process group).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # TIMESTAMP values are decoded in the process's time zone: the wire form is UTC.
    os.environ["TZ"] = "UTC"
    time.tzset()
    setup_logging(job.log_level, json_lines=job.log_json)
    # Not as rarely as the asyncio side: rows events that fall back to the library sit in
    # reference cycles (event <-> packet), so their rows wait for a collection (a young
    # generation of 50,000 held ~15k rows, +10 MiB of RSS; 10,000: +3 MiB).
    gctune.tune(_READER_GC_YOUNG)
    settings = job.settings
    sink = _PipeSink(fd)
    try:
        shapes = ShapeCatalog(settings, db.create_engine(settings.source.dsn, ""))
        shapes.refresh()
        reader = BinlogReader(
            dsn=settings.source.dsn, flavor=settings.source.flavor,
            replica_id=settings.source.server_id, start=job.start, shapes=shapes.shapes,
            refresh_shapes=shapes.refresh, identity=job.identity,
            partitions=settings.kafka.partitions, out=sink,
            heartbeat_s=settings.source.heartbeat_interval_ms / 1000, raw=True,
        )
    except Exception as exc:  # noqa: BLE001 - every failure goes to the worker
        sink.put(exc)
        return
    reader.run()


class ReaderProcess:
    """A :class:`cdc.reader.BinlogReader` streaming from ``start`` in a child process."""

    def __init__(self, settings: Settings, start: Position, identity: SourceIdentity) -> None:
        root = logging.getLogger()
        self._job = _Job(settings, start, identity, os.getpid(),
                         logging.getLevelName(root.getEffectiveLevel()),
                         any(isinstance(handler.formatter, JsonFormatter)
                             for handler in root.handlers))
        self._process: asyncio.subprocess.Process | None = None
        self._frames = _Frames(QUEUE_BATCHES)
        self._assembler = Assembler(settings.kafka.partitions)
        self._transport: asyncio.BaseTransport | None = None

    async def start(self) -> None:
        receive, send = os.pipe()
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "cdc.reader_process", str(send), stdin=subprocess.PIPE,
                pass_fds=(send,))
        except BaseException:
            os.close(receive)
            raise
        finally:
            os.close(send)  # only the child writes: EOF once it is gone
        stdin = self._process.stdin
        assert stdin is not None
        stdin.write(pickle.dumps(self._job, protocol=pickle.HIGHEST_PROTOCOL))
        await stdin.drain()
        stdin.close()
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.connect_read_pipe(
            lambda: self._frames, os.fdopen(receive, "rb", buffering=0))

    async def get(self, wait_s: float) -> Batch | BaseException:
        """The next batch or error; an empty batch when none arrived within ``wait_s``."""
        try:
            payload = await asyncio.wait_for(self._frames.frames.get(), wait_s)
        except TimeoutError:
            return []
        self._frames.taken()
        if payload is None:
            self._frames.frames.put_nowait(None)  # stays at the end
            code = await self._wait()
            return ReaderDied(f"the binlog reader process exited with code {code}")
        item = pickle.loads(payload)
        return item if isinstance(item, BaseException) else self._assembler.feed(item)

    async def stop(self) -> None:
        """Kill the child (it has nothing to save) and wait for it."""
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # it exited meanwhile
                self._process.kill()
        await self._wait()
        if self._transport is not None:
            self._transport.close()

    async def _wait(self) -> int | None:
        """The child's exit code, once it exits (None: still running after
        :data:`STOP_TIMEOUT_S`)."""
        if self._process is None:
            return None
        try:
            return await asyncio.wait_for(self._process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            return None


if __name__ == "__main__":
    main()
