"""Benchmark: the workspace store vs plain pyarrow Parquet, write and read.

Builds N rows (default 1,000,000) with a 128-d float32 vector attribute and a small inline
PNG each, then times, in the same run:

* write: ``Workspace.append_samples`` (validation + sharding + fsync + atomic renames) vs
  ``pyarrow.parquet.write_table`` of the same table to one file (no fsync);
* read: ``Workspace.to_table`` vs ``pyarrow.parquet.read_table``;
* peak memory of a full streaming scan (``Workspace.iter_batches``) vs loading the table,
  each measured in a fresh process as the growth of its peak RSS.

Prints a table of ratios (ours / baseline). Targets: write and read within 1.3x of raw
pyarrow; streaming-scan peak memory bounded by about one shard, not the table.

Usage: ``python benchmarks/bench_store.py [--rows N] [--repeat R]``
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from memory import status_kb  # benchmarks/memory.py (scripts run from benchmarks/)

import curator
from curator.images import encode_png
from curator.store import DEFAULT_SHARD_ROWS

DIM = 128


def make_table(n: int, seed: int = 0) -> pa.Table:
    """N sample rows: ids, labels, a 128-d vector, and one of 256 tiny 8x8 PNGs inline."""
    rng = np.random.default_rng(seed)
    pngs = [encode_png(rng.integers(0, 256, (8, 8), dtype=np.uint8), "L") for _ in range(256)]
    ids = np.char.add(np.char.zfill(np.arange(n).astype(str), 32), "")
    ids = pa.array(ids.tolist(), pa.string())
    vectors = rng.standard_normal((n, DIM), dtype=np.float32)
    images = pa.array([pngs[i % 256] for i in range(n)], pa.binary())
    return pa.table({
        "sample_id": ids,
        "source": pa.array(np.where(rng.random(n) < 0.5, "real", "synthetic")),
        "label": pa.array((rng.integers(0, 10, n)).astype(str)),
        "split": pa.array(["train"] * n),
        "image_bytes": images,
        "width": pa.array(np.full(n, 8, np.int32)),
        "height": pa.array(np.full(n, 8, np.int32)),
        "generator": pa.array(["bench"] * n),
        "generator_version": pa.array(["0"] * n),
        "config_hash": pa.array(["0" * 16] * n),
        "yaw_deg": pa.array(rng.uniform(-90, 90, n)),
        "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), DIM),
    })


def _timed_pair(ours, baseline, repeat: int) -> tuple[float, float]:
    """Median seconds of ``ours`` and ``baseline``, interleaved, page cache flushed first.

    Interleaving and ``os.sync()`` keep one side's dirty pages from being written back
    during the other's timing, the main source of noise on a shared disk.
    """
    times: dict[str, list[float]] = {"ours": [], "baseline": []}
    for _ in range(repeat):
        for key, fn in (("ours", ours), ("baseline", baseline)):
            os.sync()
            t0 = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - t0)
    return statistics.median(times["ours"]), statistics.median(times["baseline"])


def _peak_memory(target, *args) -> tuple[float, float]:
    """Run ``target(*args)`` in a fresh process; return (peak RSS growth, Arrow pool peak) in MB.

    RSS growth is the peak RSS after the call minus the resident size just before it; the
    Arrow pool peak counts every buffer pyarrow allocated (the bulk of a scan's memory).
    """
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_measure, args=(queue, target, args))
    proc.start()
    value = queue.get()
    proc.join()
    return value


def _measure(queue, target, args) -> None:
    # VmHWM (peak RSS) belongs to this process image; ru_maxrss would carry the parent's
    # peak across fork+exec and hide the number we want.
    resident_kb = status_kb("VmRSS")
    target(*args)
    peak_kb = status_kb("VmHWM")
    queue.put(((peak_kb - resident_kb) / 1024.0, pa.default_memory_pool().max_memory() / 1e6))


def scan_store(root: str) -> None:
    ws = curator.open_workspace(root)
    rows = 0
    for batch in ws.iter_batches():
        rows += batch.num_rows
    assert rows > 0


def load_raw(path: str) -> None:
    table = pq.read_table(path)
    assert table.num_rows > 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    print(f"building {args.rows:,} rows x {DIM}-d float32 + inline 8x8 PNG ...", file=sys.stderr)
    table = make_table(args.rows)
    print(f"table: {table.nbytes / 1e6:,.0f} MB in memory", file=sys.stderr)
    tmp = Path(tempfile.mkdtemp(prefix="curator-bench-"))
    try:
        raw_path = tmp / "raw.parquet"
        counter = iter(range(10**6))

        def write_store() -> None:
            root = tmp / f"ws{next(counter)}"
            ws = curator.init_workspace(root)
            ws.append_samples(table)

        def write_raw() -> None:
            pq.write_table(table, raw_path)

        t_store_w, t_raw_w = _timed_pair(write_store, write_raw, args.repeat)
        ws = curator.open_workspace(tmp / "ws0")
        n_shards = len(ws.samples.shards())
        t_store_r, t_raw_r = _timed_pair(ws.to_table, lambda: pq.read_table(raw_path),
                                         args.repeat)
        rss_scan, pool_scan = _peak_memory(scan_store, str(tmp / "ws0"))
        rss_load, pool_load = _peak_memory(load_raw, str(raw_path))
        shard_mb = max(p.stat().st_size for p in ws.samples.shards()) / 1e6
        table_mb = table.nbytes / 1e6
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"\nstore benchmark: {args.rows:,} rows, {n_shards} shards of <= "
          f"{DEFAULT_SHARD_ROWS:,} rows, median of {args.repeat}")
    print(f"{'measure':<34}{'curator':>12}{'baseline':>12}{'ratio':>9}  baseline / target")
    rows = [
        ("write (s)", t_store_w, t_raw_w, "pq.write_table / <= 1.3"),
        ("read all (s)", t_store_r, t_raw_r, "pq.read_table / <= 1.3"),
        ("peak RSS growth, full scan (MB)", rss_scan, rss_load, "pq.read_table (whole table)"),
        ("peak Arrow memory, full scan (MB)", pool_scan, pool_load, "pq.read_table (whole table)"),
    ]
    for name, ours, base, note in rows:
        print(f"{name:<34}{ours:>12.2f}{base:>12.2f}{ours / max(base, 1e-9):>9.2f}  {note}")
    print(f"{'scan Arrow peak / largest shard':<34}{pool_scan:>12.1f}{shard_mb:>12.1f}"
          f"{pool_scan / shard_mb:>9.2f}  (table in memory: {table_mb:.0f} MB)")


if __name__ == "__main__":
    main()
