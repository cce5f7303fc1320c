"""Benchmark: what the app's pages read and compute on a large workspace, against the naive
way (load the whole table, re-run the selection on every slider move).

Builds a temporary workspace of ``--n`` samples (default 1,000,000: half real, half
synthetic, 10 labels, an 8x8 PNG each, a few attributes), then times, in one run:

* Overview: ``Workspace.info()`` (reads source/label/split) vs ``to_pandas()`` of every
  column (images included) and a group-by;
* Gallery: a page of 24 thumbnails (``curator.explore.sample_page`` + ``thumbnails``),
  unfiltered and filtered, vs ``to_pandas()`` of every column and the first 24 rows;
* Curate ratios, on ``--vectors`` x 32 float32 vectors in 10 strata: the one-time
  ``mix_statistics`` and then one slider move (``plan_mix``) vs re-running
  ``select_mix`` for that move. Target: a slider move well under a second.

Usage: ``python benchmarks/bench_app.py [--n 1000000] [--vectors 200000] [--quick]``
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
from memory import machine_line  # benchmarks/memory.py (scripts run from benchmarks/)
from PIL import Image

TARGET_MOVE_S = 1.0


def _png(rng: np.random.Generator) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (8, 8), dtype=np.uint8), "L").save(buf, "PNG")
    return buf.getvalue()


def build(root: Path, n: int, chunk: int = 200_000):
    from curator import init_workspace

    ws = init_workspace(root / "ws")
    rng = np.random.default_rng(0)
    pngs = [_png(rng) for _ in range(256)]
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        idx = np.arange(start, start + m)
        table = pa.table({
            "sample_id": [f"{i:032x}" for i in idx],
            "source": np.where(idx % 2 == 0, "real", "synthetic").tolist(),
            "label": (idx % 10).astype(str).tolist(),
            "split": np.where(idx % 5 == 0, "test", "train").tolist(),
            "image_bytes": [pngs[i % 256] for i in idx],
            "width": pa.array(np.full(m, 8), pa.int32()),
            "height": pa.array(np.full(m, 8), pa.int32()),
            "mode": ["L"] * m,
            "generator": ["bench"] * m, "generator_version": ["1"] * m,
            "config_hash": ["0" * 16] * m,
            "pose_yaw_deg": rng.uniform(-90, 90, m),
            "color_temp_k": rng.uniform(2500, 7000, m),
        })
        ws.append_samples(table, skip_existing=False)
    return ws


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="samples in the workspace")
    parser.add_argument("--vectors", type=int, default=200_000,
                        help="vectors for the ratio curation")
    parser.add_argument("--quick", action="store_true", help="100,000 samples, 50,000 vectors")
    args = parser.parse_args()
    if args.quick:
        args.n, args.vectors = 100_000, 50_000
    from curator.explore import sample_page, thumbnails
    from curator.ratio_plan import mix_statistics, plan_mix
    from curator.select import select_mix

    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="bench_app_") as tmp:
        t0 = time.perf_counter()
        ws = build(Path(tmp), args.n)
        print(f"workspace: {args.n:,} samples with 8x8 PNGs "
              f"({time.perf_counter() - t0:.0f} s to build, not timed below)")
        naive_s = timed(lambda: ws.to_pandas(), repeat=1)

        def gallery(filters=None):
            page = sample_page(ws, filters=filters, per_page=24)
            return thumbnails(ws, page.rows["sample_id"].tolist())

        rows = [
            ("overview: counts", timed(ws.info), naive_s),
            ("gallery: first page, 24 thumbnails", timed(gallery), naive_s),
            ("gallery: filtered (label 3, real)",
             timed(lambda: gallery([("label", "==", "3"), ("source", "==", "real")])),
             naive_s),
        ]
        head = f"{'page work':<40}{'curator s':>10}{'naive s':>9}{'speed-up':>10}"
        print(f"\nnaive = to_pandas() of every column (images included): {naive_s:.1f} s")
        print(head)
        print("-" * len(head))
        for name, ours, base in rows:
            print(f"{name:<40}{ours:>10.3f}{base:>9.2f}{base / ours:>9.0f}x")
    rng = np.random.default_rng(1)
    n = args.vectors
    X = rng.normal(size=(n, 32)).astype(np.float32)
    strata = (np.arange(n) % 10).astype(str)
    real = rng.random(n) < 0.3
    t0 = time.perf_counter()
    stats = mix_statistics(X, strata, real, ~real)
    once = time.perf_counter() - t0
    move = timed(lambda: plan_mix(stats, {"*": 1.5, "3": 0.5}, n_total={"7": 500}), repeat=5)
    reselect = timed(lambda: select_mix(X, ids=np.arange(n).astype(str), is_real=real,
                                        is_synthetic=~real, strata=strata,
                                        synthetic_per_real={"*": 1.5, "3": 0.5},
                                        n_total={"7": 500}), repeat=1)
    print(f"\ncurate ratios: {n:,} x 32 vectors, 10 strata, 30% real")
    print(f"{'one-time neighbour statistics':<40}{once:>10.2f} s")
    print(f"{'one slider move (plan_mix)':<40}{move:>10.4f} s   vs re-running select_mix "
          f"{reselect:.1f} s: {reselect / move:,.0f}x; target < {TARGET_MOVE_S:.0f} s: "
          f"{'met' if move < TARGET_MOVE_S else 'MISSED'}")
    print("\nnotes\n- best of 3 (overview, gallery) or 5 (slider move) calls; the naive baseline "
          "and select_mix once.\n- the machine may be shared: compare ratios within a run.")


if __name__ == "__main__":
    main()
