"""Benchmark: which index for a large workspace: exact, IVF, IVF-PQ and HNSW side by side.

On ``--n`` clustered 64-d float32 points (the Gaussian blobs of ``bench_neighbors.py``) and
``--queries`` held-out queries, k=10, for each index kind in one run:

* build seconds (training, adding, and the automatic search-effort tuning);
* query seconds for all queries, and the speed-up over exact search (the baseline);
* held-out recall@10 measured here against exact search of the same queries;
* bytes per vector of the faiss index itself (``faiss.serialize_index``); the exact index
  is the vectors (``4 x dim``). ``NeighborIndex`` also keeps the vectors for its exact
  refine step; ``refine=False`` drops that need (the ``no refine`` row).

What ``docs/scale.md`` cites for a 10M-sample workspace. Usage:
``python benchmarks/bench_index_kinds.py [--n 1000000] [--queries 10000] [--no-hnsw]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from bench_neighbors import make_clustered
from memory import machine_line

from curator.neighbors import NeighborIndex, exact_knn

K = 10


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / K for a, b in zip(found, truth, strict=True)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--no-hnsw", action="store_true")
    args = parser.parse_args()
    import faiss

    print(machine_line())
    base, queries = make_clustered(args.n, args.queries, args.dim)
    t0 = time.perf_counter()
    truth = exact_knn(queries, base, K)[1]
    exact_s = time.perf_counter() - t0
    kinds = [("IVF (auto nprobe)", {"index": "IVF"}),
             ("IVF1024,PQ16", {"index": "IVF1024,PQ16"}),
             ("IVF1024,PQ16 no refine", {"index": "IVF1024,PQ16", "refine": False}),
             ("IVF1024,PQ32", {"index": "IVF1024,PQ32"})]
    if not args.no_hnsw:
        kinds.append(("HNSW32 (auto ef)", {"index": "HNSW"}))
    print(f"\n{args.n:,} x {args.dim}-d clustered, {args.queries:,} held-out queries, k={K}")
    head = (f"{'index':<24}{'build s':>9}{'query s':>9}{'vs exact':>10}{'recall@10':>11}"
            f"{'bytes/vec':>11}{'effort':>8}")
    print(head)
    print("-" * len(head))
    print(f"{'Flat (exact)':<24}{0:>9.1f}{exact_s:>9.2f}{1:>9.2f}x{1:>11.3f}"
          f"{4 * args.dim:>11}{'':>8}", flush=True)
    for name, kw in kinds:
        t0 = time.perf_counter()
        index = NeighborIndex(K, random_state=0, **kw).fit(base)
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        found = index.kneighbors(queries, K, return_distance=False)
        query = time.perf_counter() - t0
        size = len(faiss.serialize_index(index.index_)) / args.n
        ivf = faiss.extract_index_ivf(index.index_) if "IVF" in name else None
        effort = ivf.nprobe if ivf is not None else index.index_.hnsw.efSearch
        print(f"{name:<24}{build:>9.1f}{query:>9.2f}{exact_s / query:>9.2f}x"
              f"{_recall(found, truth):>11.3f}{size:>11.1f}{effort:>8}", flush=True)
    print("\nnotes\n- recall@10: share of the exact 10 nearest found, held-out queries.\n"
          "- effort: nprobe (IVF) or efSearch (HNSW), tuned by NeighborIndex to recall 0.95 "
          "on training queries where reachable (PQ codes cap it).")


if __name__ == "__main__":
    main()
