"""Consumer memory over a long run: does each region consumer's RSS stay flat?

    .venv/bin/python -m bench.consumer_soak [--stack-dir DIR --base-port N]
        [--minutes 10 --rate 2000 --writers 2 --sample-s 5 --warmup-s 60]

Runs the pipeline of :mod:`bench.pipeline_latency` as separate processes (the CDC worker and
``cachesync consume --region R`` for east and west) and its paced writers (small transactions
of 1-10 rows, 70% inserts of new rows, so the number of cache keys grows all along) for
``--minutes``, sampling each consumer's ``VmRSS`` every ``--sample-s`` seconds.

The first ``--warmup-s`` seconds are warm-up (allocator arenas, connection buffers, the first
metric series); memory is judged on the samples after it: growth is the mean of the last
minute's samples minus the mean of the first minute's after warm-up (means, so one sample
taken in the middle of a batch does not decide), and the slope is the least-squares fit
over all of them. A consumer is flat when its growth is below ``--flat-mb`` (default 5 MB).
At the end the writers stop and both regions must apply every row (the consumers kept up).

The last line of output is one JSON object: ``{"minutes", "rows", "rows_per_s",
"consumer_rss_mb": {region: {"after_warmup", "end", "max", "growth", "slope_per_hour"}},
"flat"}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.pipeline_latency import (
    EVENTS,
    REGIONS,
    Pipeline,
    start,
    wait_applied,
    wait_started,
    writer,
)
from bench.proc import add_stack_options, status_kb
from cachesync.promquantile import counter_value
from cachesync.stack import Stack


def _slope_per_hour(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB per hour."""
    if len(samples) < 2:
        return 0.0
    return statistics.linear_regression([t for t, _ in samples],
                                        [mb for _, mb in samples]).slope * 3600


def judge(samples: list[tuple[float, float]], warmup_s: float, flat_mb: float
          ) -> dict[str, Any]:
    """A consumer's RSS figures from its (seconds since start, MB) samples."""
    after = [(t, mb) for t, mb in samples if t >= warmup_s]
    if not after:
        raise ValueError(f"no sample after the {warmup_s:.0f} s warm-up")
    first = [mb for t, mb in after if t < after[0][0] + 60]
    last = [mb for t, mb in after if t > after[-1][0] - 60]
    growth = statistics.fmean(last) - statistics.fmean(first)
    return {"after_warmup": round(statistics.fmean(first), 1),
            "end": round(statistics.fmean(last), 1),
            "max": round(max(mb for _, mb in samples), 1),
            "growth": round(growth, 1),
            "slope_per_hour": round(_slope_per_hour(after), 1),
            "flat": growth < flat_mb}


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    info = Stack(Path(args.stack_dir), args.base_port).up()
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        pipeline: Pipeline = start(info, Path(tmp))
        try:
            await wait_started(info, pipeline)
            base = {r: counter_value(await asyncio.to_thread(pipeline.scrape, r), EVENTS,
                                     region=r) for r in REGIONS}
            table = f"app.{pipeline.table}"
            seconds = args.minutes * 60
            started = time.monotonic()
            until = started + seconds
            counts = [multiprocessing.Array("d", 3) for _ in range(args.writers)]
            writers = [multiprocessing.Process(
                target=writer, args=(info.mariadb_port, table, i + 1),
                kwargs={"rate": args.rate / args.writers, "until": until, "counts": counts[i]})
                for i in range(args.writers)]
            for process in writers:
                process.start()
            samples: dict[str, list[tuple[float, float]]] = {r: [] for r in REGIONS}
            next_report = started + 60
            while any(process.is_alive() for process in writers):
                pipeline.check_alive()
                now = time.monotonic()
                for region, proc in pipeline.consumers.items():
                    kb = status_kb(proc.pid, "VmRSS:")
                    if kb is not None:
                        samples[region].append((now - started, kb / 1024))
                if now >= next_report:
                    print(f"{(now - started) / 60:4.1f} min: consumer RSS "
                          + ", ".join(f"{r} {s[-1][1]:.1f} MB" for r, s in samples.items()
                                      if s), flush=True)
                    next_report += 60
                await asyncio.sleep(args.sample_s)
            if any(process.exitcode != 0 for process in writers):
                raise RuntimeError("a writer process failed")
            rows = int(sum(c[0] for c in counts))
            elapsed = max(c[2] for c in counts)
            await wait_applied(pipeline, {r: base[r] + rows for r in REGIONS}, 600)
        finally:
            pipeline.stop()
            await pipeline.remove(info)
    figures = {r: judge(s, args.warmup_s, args.flat_mb) for r, s in samples.items()}
    for region, f in figures.items():
        print(f"{region}: RSS {f['after_warmup']} MB after warm-up, {f['end']} MB at the end "
              f"(growth {f['growth']:+.1f} MB, slope {f['slope_per_hour']:+.1f} MB/h, "
              f"max {f['max']} MB): {'flat' if f['flat'] else 'NOT flat'}", flush=True)
    print(f"{rows:,} rows in {elapsed:.0f} s ({rows / elapsed:,.0f} rows/s), every one applied "
          "in both regions", flush=True)
    return {"minutes": args.minutes, "rows": rows, "rows_per_s": round(rows / elapsed),
            "consumer_rss_mb": {r: {k: v for k, v in f.items() if k != "flat"}
                                for r, f in figures.items()},
            "flat": all(f["flat"] for f in figures.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_stack_options(parser, "stack-soak", 25600)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=2000, help="rows/s written")
    parser.add_argument("--writers", type=int, default=2, help="writer processes")
    parser.add_argument("--sample-s", type=float, default=5.0, help="RSS sampling interval")
    parser.add_argument("--warmup-s", type=float, default=60.0,
                        help="seconds not judged at the start")
    parser.add_argument("--flat-mb", type=float, default=5.0,
                        help="growth after warm-up below which a consumer counts as flat")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(soak(args))))


if __name__ == "__main__":
    main()
