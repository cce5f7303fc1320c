"""Benchmark: how each stage grows from 100k to 1M rows (time, peak memory, exponent).

For each size, on a fresh workspace of seeded synthetic-vector rows (half real, half
synthetic, 10 labels, a 64-d float32 vector and two attributes per row, no images):

* ``append``: ``Workspace.append_samples`` in 200k-row chunks (validation, id check,
  atomic shards: the store side of every ingest);
* ``embed``: ``embed_workspace`` with the ``precomputed`` embedder (streams the vector
  column into the embedding store);
* ``knn``: exact k=10 search of 10,000 queries against every vector (``NeighborIndex``);
* ``report``: the real-vs-synthetic gap section (``build_report``, 20,000 samples per side:
  its cost should stay flat).

Prints seconds and peak-RSS growth per stage and size, and the growth exponent
``log(t_big / t_small) / log(n_big / n_small)`` (1 = linear). Each size runs in a fresh
process, so peaks are its own.

Usage: ``python benchmarks/bench_scale.py [--sizes 100000,1000000] [--quick]``
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
from memory import in_fresh_process, machine_line, reset_peak, status_kb

DIM = 64
CHUNK = 200_000
STAGES = ("append", "embed", "knn", "report")


def _chunk(start: int, m: int, rng: np.random.Generator) -> pa.Table:
    idx = np.arange(start, start + m)
    labels = (idx // 2) % 10  # both sides hold every label
    centres = np.random.default_rng(0).normal(0, 4, (10, DIM)).astype(np.float32)
    vec = centres[labels] + rng.normal(0, 1, (m, DIM)).astype(np.float32)
    vec[idx % 2 == 1] += 0.5  # synthetic: a small shift
    flat = pa.array(vec.ravel(), pa.float32())
    return pa.table({
        "sample_id": [f"{i:032x}" for i in idx],
        "source": np.where(idx % 2 == 0, "real", "synthetic").tolist(),
        "label": labels.astype(str).tolist(),
        "split": np.where(idx % 5 == 0, "test", "train").tolist(),
        "generator": ["bench"] * m, "generator_version": ["1"] * m,
        "config_hash": ["0" * 16] * m,
        "vector": pa.FixedSizeListArray.from_arrays(flat, DIM).cast(pa.list_(pa.float32())),
        "pose_yaw_deg": rng.uniform(-90, 90, m), "color_temp_k": rng.uniform(2500, 7000, m),
        "gen_recipe": pa.array(np.where(idx % 2 == 1, "bench", None).tolist(), pa.string()),
    })


def measure(n: int) -> dict[str, tuple[float, float]]:
    """``{stage: (seconds, peak MiB growth)}`` for one size (run in a fresh process)."""
    from curator import init_workspace
    from curator.embed import PrecomputedEmbedder, embed_workspace, load_embedding
    from curator.neighbors import NeighborIndex
    from reports.build import ReportConfig, build_report

    out: dict[str, tuple[float, float]] = {}
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory(prefix="bench_scale_") as tmp:
        ws = init_workspace(Path(tmp) / "ws")

        def stage(name, fn):
            base = status_kb("VmRSS")
            reset_peak()
            t0 = time.perf_counter()
            result = fn()
            out[name] = (time.perf_counter() - t0, (status_kb("VmHWM") - base) / 1024)
            return result

        def append():
            for start in range(0, n, CHUNK):
                ws.append_samples(_chunk(start, min(CHUNK, n - start), rng))

        stage("append", append)
        stage("embed", lambda: embed_workspace(ws, PrecomputedEmbedder("vector"),
                                               name="vectors"))
        emb = load_embedding(ws, "vectors")
        queries = emb.vectors[np.random.default_rng(2).choice(len(emb), 10_000,
                                                              replace=False)]
        stage("knn", lambda: NeighborIndex(10).fit(emb.vectors).kneighbors(queries, 10))
        stage("report", lambda: build_report(ws, ReportConfig(
            sections=("gap",), embedding="vectors", max_samples=20_000, n_boot=20)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--quick", action="store_true", help="sizes 20,000 and 100,000")
    args = parser.parse_args()
    sizes = [20_000, 100_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    print(machine_line())
    results = {n: in_fresh_process(measure, n) for n in sizes}
    head = f"{'stage':<8}" + "".join(f"{f'{n:,} s':>14}{'MiB':>8}" for n in sizes) + \
        f"{'exponent':>10}"
    print(head)
    print("-" * len(head))
    lo, hi = sizes[0], sizes[-1]
    for stage in STAGES:
        cells = "".join(f"{results[n][stage][0]:>14.2f}{max(0.0, results[n][stage][1]):>8.0f}"
                        for n in sizes)
        t_lo, t_hi = results[lo][stage][0], results[hi][stage][0]
        exponent = math.log(t_hi / t_lo) / math.log(hi / lo) if t_lo > 0 else float("nan")
        print(f"{stage:<8}{cells}{exponent:>10.2f}")
    print("\nnotes\n- exponent: log(t at the largest size / t at the smallest) / log(size "
          "ratio); 1 = linear, 0 = flat.\n- report computes the gap on 20,000 samples per "
          "side, so it should stay near flat.\n- MiB: peak RSS growth during the stage (the "
          "workspace is on disk; vectors are loaded for knn).")


if __name__ == "__main__":
    main()
