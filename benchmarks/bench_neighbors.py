"""Benchmark: the neighbour engine (``NeighborIndex``) vs scikit-learn and numpy, exact and IVF.

For each size (default 200,000 and 1,000,000 points, 10,000 queries, 128-d float32, k=10),
in one run:

* exact: ``NeighborIndex(k)`` (faiss brute force + exact refine) vs
  ``sklearn.neighbors.NearestNeighbors(algorithm="brute")`` vs a chunked numpy brute force
  (``|x|^2 - 2 q.x`` by matmul over query x base blocks, ``argpartition`` per block, merge),
  on random normal data; wall time of fit + kneighbors, our indices and distances checked
  against numpy's;
* approximate: ``NeighborIndex(k, index="IVF")`` (nprobe auto-tuned to recall 0.95) and,
  up to ``--hnsw-max-size``, ``"HNSW"``, on clustered data (Gaussian blobs); build time,
  query time, recall@k measured here against exact search of the same held-out queries;
* peak memory of every method, each in a fresh process, as a multiple of the data.

Prints a table of speed-ups (baseline time / ours) next to the targets: exact >= 1.9x
sklearn and >= 3.5x numpy with peak memory <= 1.5x the data; IVF >= 10x exact at
recall@10 >= 0.95.

Usage: ``python benchmarks/bench_neighbors.py [--sizes 200000,1000000] [--queries 10000]
[--repeat 3] [--quick]``
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import sklearn
from memory import reset_peak, status_kb  # benchmarks/memory.py (scripts run from benchmarks/)
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_info

from curator.neighbors import NeighborIndex

#: Query and base rows per block of the numpy baseline: a 16 MB distance block. The fastest
#: of the shapes tried on this machine (256-2048 queries x 4k-64k points all ran within 10%).
NUMPY_QUERY_CHUNK = 256
NUMPY_BASE_CHUNK = 16_384
#: Above this many points the slow baselines (sklearn, numpy) run ``--large-repeat`` times.
LARGE = 300_000
N_CENTRES = 1_000
SEED = 0
TARGETS = {"sklearn": 1.9, "numpy": 3.5, "memory": 1.5, "ivf": 10.0, "recall": 0.95}


# -- data -----------------------------------------------------------------------------------
def make_random(n: int, n_queries: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Standard normal base points and (separately drawn) queries, float32, no temporaries."""
    rng = np.random.default_rng(SEED)
    base = rng.standard_normal((n, dim), dtype=np.float32)
    return base, rng.standard_normal((n_queries, dim), dtype=np.float32)


def make_clustered(n: int, n_queries: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Points and held-out queries from the same ``N_CENTRES`` Gaussian blobs.

    Centres are standard normal (about 16 apart in 128-d); each blob has its own width in
    [0.3, 0.8], so some blobs are tight and some reach halfway to their neighbours.
    """
    rng = np.random.default_rng(SEED + 1)
    centres = rng.standard_normal((N_CENTRES, dim), dtype=np.float32)
    widths = rng.uniform(0.3, 0.8, N_CENTRES).astype(np.float32)

    def draw(m: int) -> np.ndarray:
        blob = rng.integers(0, N_CENTRES, m)
        out = centres[blob]
        for s in range(0, m, 65_536):  # noise in blocks: no n x d temporary
            e = min(m, s + 65_536)
            out[s:e] += widths[blob[s:e], None] * rng.standard_normal((e - s, dim),
                                                                      dtype=np.float32)
        return out

    return draw(n), draw(n_queries)


DATASETS = {"random": make_random, "clustered": make_clustered}


# -- methods (each: fit(base, k) -> object with kneighbors(queries)) -------------------------
class NumpyBrute:
    """Chunked exact kNN in plain numpy: what one would write without a search library."""

    def __init__(self, k: int) -> None:
        self.k = k

    def fit(self, X: np.ndarray) -> NumpyBrute:
        self.X = X
        self.x_sq = np.einsum("ij,ij->i", X, X)
        return self

    def kneighbors(self, Q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X, k, n = self.X, self.k, len(self.X)
        dist = np.empty((len(Q), k), np.float32)
        ind = np.empty((len(Q), k), np.int64)
        block = np.empty((NUMPY_QUERY_CHUNK, min(NUMPY_BASE_CHUNK, n)), np.float32)
        for qs in range(0, len(Q), NUMPY_QUERY_CHUNK):
            q = Q[qs:qs + NUMPY_QUERY_CHUNK]
            cand_d, cand_i = [], []
            for bs in range(0, n, NUMPY_BASE_CHUNK):
                xb = X[bs:bs + NUMPY_BASE_CHUNK]
                g = block[:len(q), :len(xb)]
                np.matmul(q, xb.T, out=g)  # |q|^2 is constant per row: added at the end
                g *= -2
                g += self.x_sq[bs:bs + NUMPY_BASE_CHUNK]
                kk = min(k, len(xb))
                part = np.argpartition(g, kk - 1, axis=1)[:, :kk]
                cand_d.append(np.take_along_axis(g, part, 1))
                cand_i.append(part + bs)
            cd, ci = np.concatenate(cand_d, 1), np.concatenate(cand_i, 1)
            top = np.argpartition(cd, k - 1, axis=1)[:, :k]
            d, i = np.take_along_axis(cd, top, 1), np.take_along_axis(ci, top, 1)
            order = np.argsort(d, axis=1, kind="stable")
            d = np.take_along_axis(d, order, 1) + np.einsum("ij,ij->i", q, q)[:, None]
            dist[qs:qs + len(q)] = np.sqrt(np.maximum(d, 0))
            ind[qs:qs + len(q)] = np.take_along_axis(i, order, 1)
        return dist, ind


METHODS = {
    "ours": lambda X, k: NeighborIndex(k).fit(X),
    "sklearn": lambda X, k: NearestNeighbors(n_neighbors=k, algorithm="brute").fit(X),
    "numpy": lambda X, k: NumpyBrute(k).fit(X),
    "ivf": lambda X, k: NeighborIndex(k, index="IVF").fit(X),
    "hnsw": lambda X, k: NeighborIndex(k, index="HNSW").fit(X),
}
EXACT = ("ours", "sklearn", "numpy")
LABELS = {"ours": "curator Flat", "sklearn": "sklearn brute", "numpy": "numpy chunked",
          "ivf": "curator IVF", "hnsw": "curator HNSW"}


# -- one measurement per fresh process -------------------------------------------------------
def _prepare(methods: list[str], dataset: str, n: int, n_queries: int, dim: int, k: int
             ) -> tuple[np.ndarray, np.ndarray, dict]:
    """Warm up ``methods``, make the data, reset the peak mark; return data and RSS marks.

    The warm-up on tiny data loads the methods' libraries and starts their thread pools, so
    the resident baseline holds them and the timed runs do not pay for them.
    """
    tiny_x, tiny_q = make_random(2_000, 50, dim)
    for method in methods:
        METHODS[method](tiny_x, k).kneighbors(tiny_q)
    del tiny_x, tiny_q
    marks = {"rss_base_kb": status_kb("VmRSS")}
    base, queries = DATASETS[dataset](n, n_queries, dim)
    marks["peak_reset"] = reset_peak()
    marks["rss_data_kb"] = status_kb("VmRSS")
    return base, queries, marks


def _timed(fn) -> tuple[object, float, float]:
    """(result, wall seconds, cores busy on average = CPU seconds of all threads / wall)."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    out = fn()
    wall = time.perf_counter() - wall0
    return out, wall, (time.process_time() - cpu0) / max(wall, 1e-9)


def _memory(base: np.ndarray, marks: dict, peak_kb: float) -> dict:
    return {"data_bytes": base.nbytes, "rss_base_mb": marks["rss_base_kb"] / 1024,
            "growth_mb": (peak_kb - marks["rss_data_kb"]) / 1024,
            "peak_mb": (peak_kb - marks["rss_base_kb"]) / 1024, "peak_reset": marks["peak_reset"]}


def _true_distances(base: np.ndarray, queries: np.ndarray, ind: np.ndarray,
                    rows: np.ndarray) -> np.ndarray:
    """float64 distances of the returned ids of ``rows``, for the agreement check."""
    diff = base[ind[rows]].astype(np.float64) - queries[rows, None, :].astype(np.float64)
    return np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))


def measure_exact(method: str, n: int, n_queries: int, dim: int, k: int,
                  check_rows: np.ndarray) -> dict:
    """One timed fit + kneighbors of an exact method on random data, and its peak RSS."""
    base, queries, marks = _prepare([method], "random", n, n_queries, dim, k)
    (dist, ind), wall, cores = _timed(lambda: METHODS[method](base, k).kneighbors(queries))
    peak_kb = status_kb("VmHWM")
    rows = check_rows[check_rows < n_queries]
    return {"time_s": wall, "cores": cores, "check_ind": ind[rows],
            "check_dist": np.asarray(dist, np.float64)[rows],
            "true64": _true_distances(base, queries, ind, rows), **_memory(base, marks, peak_kb)}


def measure_approx(method: str, n: int, n_queries: int, dim: int, k: int, repeat: int) -> dict:
    """Build an approximate index on clustered data, then time its queries against exact
    (curator Flat) queries of the same process, interleaved, ``repeat`` times each.

    The peak RSS is read after the build and first query, before any exact search ran.
    """
    base, queries, marks = _prepare([method, "ours"], "clustered", n, n_queries, dim, k)
    model, build_s, _ = _timed(lambda: METHODS[method](base, k))
    query_s = [_timed(lambda: model.kneighbors(queries))[1]]
    peak_kb = status_kb("VmHWM")
    flat = METHODS["ours"](base, k)
    exact_s = []
    for _ in range(repeat):
        (_, exact_ind), wall, _ = _timed(lambda: flat.kneighbors(queries))
        exact_s.append(wall)
        (_, ind), wall, _ = _timed(lambda: model.kneighbors(queries))
        query_s.append(wall)
    return {"build_s": build_s, "query_s": min(query_s), "exact_s": min(exact_s),
            "runs": repeat, "recall": recall(ind, exact_ind), "recall_": model.recall_,
            "effort_": getattr(model, "effort_", None), "factory_": model.factory_,
            **_memory(base, marks, peak_kb)}


def in_fresh_process(fn, *args) -> dict:
    """``fn(*args)`` in a new interpreter: its peak RSS is this measurement's alone."""
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def run_exact(n: int, args, check_rows: np.ndarray) -> dict[str, dict]:
    """Fresh process per method and run, methods interleaved run by run (so a burst of load
    on the shared machine hits one run of each rather than all runs of one); best time."""
    runs = {name: args.repeat if name == "ours" or n <= LARGE else args.large_repeat
            for name in EXACT}
    done: dict[str, list[dict]] = {name: [] for name in EXACT}
    for r in range(max(runs.values())):
        for name in EXACT:
            if r < runs[name]:
                done[name].append(in_fresh_process(measure_exact, name, n, args.queries,
                                                   args.dim, args.k, check_rows))
    best = {name: min(results, key=lambda res: res["time_s"]) for name, results in done.items()}
    for name, results in done.items():
        best[name]["runs"] = len(results)
        best[name]["times"] = [res["time_s"] for res in results]
        best[name]["peak_mb"] = max(res["peak_mb"] for res in results)
    return best


# -- checks ---------------------------------------------------------------------------------
def agreement(res: dict, ref: dict) -> tuple[float, float, float]:
    """(share of checked rows with identical ids, max relative gap of the true distances of
    the two id lists, max relative gap of the reported distances) on the checked rows."""
    same = float((res["check_ind"] == ref["check_ind"]).all(axis=1).mean())
    true_gap = np.abs(res["true64"] - ref["true64"]) / np.maximum(ref["true64"], 1e-12)
    rep_gap = np.abs(res["check_dist"] - ref["check_dist"]) / np.maximum(ref["check_dist"],
                                                                         1e-12)
    return same, float(true_gap.max()), float(rep_gap.max())


def recall(approx: np.ndarray, exact: np.ndarray) -> float:
    """recall@k: share of the exact k ids that the approximate search returned."""
    return float((approx[:, :, None] == exact[:, None, :]).any(axis=2).mean())


# -- report ---------------------------------------------------------------------------------
def _verdict(ok: bool) -> str:
    return "pass" if ok else "MISS"


def sgemm_gflops(dim: int) -> float:
    """numpy's float32 matmul rate on one distance block shape, for reading the times."""
    rng = np.random.default_rng(SEED)
    q = rng.standard_normal((1024, dim), dtype=np.float32)
    x = rng.standard_normal((NUMPY_BASE_CHUNK, dim), dtype=np.float32)
    out = np.empty((len(q), len(x)), np.float32)
    best = min(_timed(lambda: np.matmul(q, x.T, out=out))[1] for _ in range(5))
    return 2 * q.size * len(x) / best / 1e9


def print_header(args) -> None:
    # Load faiss (and start its OpenMP pool) so threadpoolctl lists its BLAS too.
    NeighborIndex(2).fit(np.zeros((4, 2), np.float32)).kneighbors(np.zeros((1, 2), np.float32))
    import faiss  # only for its version string; the benchmark goes through NeighborIndex

    with open("/proc/meminfo") as fh:
        mem_gib = float(fh.readline().split()[1]) / 2**20
    with open("/proc/cpuinfo") as fh:
        cpu = fh.read()
    model = next((ln.split(":", 1)[1].strip() for ln in cpu.splitlines()
                  if ln.startswith("model name")), platform.machine())
    simd = "avx512f" if " avx512f" in cpu else "avx2" if " avx2" in cpu else "no avx2"
    print(f"{os.cpu_count()} cores ({model}, {simd}), {mem_gib:.0f} GiB RAM; "
          f"python {platform.python_version()}, numpy {np.__version__}, "
          f"faiss {faiss.__version__}, scikit-learn {sklearn.__version__}")
    env = {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP_", "MKL_"))}
    print("environment: " + (", ".join(f"{k}={v}" for k, v in sorted(env.items()))
                             or "no OPENBLAS_*/OMP_*/MKL_* variables"))
    for lib in threadpool_info():
        print(f"  {lib['user_api']:<7} {lib['internal_api']:<9} {lib.get('version') or '':<13}"
              f"arch={lib.get('architecture', '-'):<9} threads={lib['num_threads']}  "
              f"{os.path.basename(lib['filepath'])}")
    print(f"numpy float32 matmul (1024 x {args.dim} @ {args.dim} x {NUMPY_BASE_CHUNK:,}): "
          f"{sgemm_gflops(args.dim):.0f} GFLOP/s")
    print(f"k={args.k}, {args.queries:,} queries, {args.dim}-d float32; every run in a fresh "
          f"process; best of {args.repeat} (sklearn/numpy: {args.large_repeat} above "
          f"{LARGE:,} points)")


def print_exact(n: int, res: dict[str, dict], args) -> None:
    data_mb = res["ours"]["data_bytes"] / 2**20
    print(f"\nexact kNN, {n:,} random normal points ({data_mb:,.0f} MiB)")
    head = (f"{'method':<15}{'runs':>5}{'fit+query s':>12}{'cores':>6}{'GFLOP/s':>8}"
            f"{'ours faster':>12}{'target':>8}{'':>6}{'peak/data':>10}{'growth MiB':>11}"
            f"{'base MiB':>9}")
    print(head)
    print("-" * len(head))
    ours = res["ours"]
    flop = 2.0 * n * args.queries * args.dim
    for name in EXACT:
        r = res[name]
        speed = r["time_s"] / ours["time_s"]
        target = TARGETS.get(name)
        cells = (f"{speed:>11.2f}x{'>= ' + str(target):>8}{_verdict(speed >= target):>6}"
                 if target else f"{'-':>12}{'':>14}")
        print(f"{LABELS[name]:<15}{r['runs']:>5}{r['time_s']:>12.2f}{r['cores']:>6.2f}"
              f"{flop / r['time_s'] / 1e9:>8.0f}{cells}{r['peak_mb'] / data_mb:>10.2f}"
              f"{r['growth_mb']:>11.1f}{r['rss_base_mb']:>9.0f}")
    mem = ours["peak_mb"] / data_mb
    print("all runs (s): " + "; ".join(
        f"{name} " + ", ".join(f"{t:.2f}" for t in res[name]["times"]) for name in EXACT))
    print(f"ours peak memory / data = {mem:.2f}  (target <= {TARGETS['memory']})  "
          f"{_verdict(mem <= TARGETS['memory'])}")
    for name in ("sklearn", "ours"):
        same, true_gap, rep_gap = agreement(res[name], res["numpy"])
        ok = true_gap <= 1e-4 and rep_gap <= 1e-4
        print(f"{LABELS[name]} vs numpy, {len(res[name]['true64']):,} queries: "
              f"{same:.1%} rows same ids; true-distance gap {true_gap:.1e}, "
              f"reported-distance gap {rep_gap:.1e} (<= 1e-4)  {_verdict(ok)}")


def print_approx(n: int, res: dict[str, dict]) -> None:
    data_mb = next(iter(res.values()))["data_bytes"] / 2**20
    print(f"\napproximate kNN, {n:,} clustered points ({N_CENTRES:,} blobs, {data_mb:,.0f} MiB)"
          "; exact = curator Flat queried in the same process")
    head = (f"{'index':<13}{'factory':<14}{'effort':>7}{'build s':>9}{'query s':>9}"
            f"{'exact s':>9}{'recall@k':>9}{'recall_':>8}{'vs exact':>10}{'target':>8}{'':>6}"
            f"{'peak/data':>10}")
    print(head)
    print("-" * len(head))
    for name, r in res.items():
        speed = r["exact_s"] / r["query_s"]
        ok = speed >= TARGETS["ivf"] and r["recall"] >= TARGETS["recall"]
        target, verdict = (f">= {TARGETS['ivf']:g}", _verdict(ok)) if name == "ivf" else ("", "")
        print(f"{LABELS[name]:<13}{r['factory_']:<14}{r['effort_']!s:>7}{r['build_s']:>9.2f}"
              f"{r['query_s']:>9.3f}{r['exact_s']:>9.2f}{r['recall']:>9.4f}{r['recall_']:>8.4f}"
              f"{speed:>9.1f}x{target:>8}{verdict:>6}{r['peak_mb'] / data_mb:>10.2f}")
    print(f"IVF target: >= {TARGETS['ivf']:g}x exact query speed at recall@k >= "
          f"{TARGETS['recall']} (recall@k measured here)")


NOTES = """
notes
- exact: wall seconds of fit + kneighbors, every run in its own fresh process, methods
  interleaved run by run; the best run is shown ("all runs" lists each). cores = CPU
  seconds of all threads / wall seconds of the best run (below {cores} means waiting:
  memory, a single-threaded step, or other load on the machine). GFLOP/s = 2 n q d / time,
  the matmul work every brute force does. "ours faster" = that method's time / curator
  Flat's.
- approximate: build = fit, including the nprobe / efSearch tuning; query = best of the
  runs; exact = curator Flat's query time, runs interleaved with the index's in the same
  process. recall@k is computed here on every query against those exact ids (Flat is checked
  against numpy above); recall_ is what the index measured itself at fit.
- memory: base MiB = resident size after imports and a tiny warm-up call (interpreter,
  libraries, thread pools). The data (points + queries) are then generated and the peak-RSS
  mark is reset (/proc/self/clear_refs), so generation temporaries do not count.
  peak/data = (peak RSS - base) / (n x d x 4 bytes): it includes the data itself (1.0 = no
  extra memory) and the queries ({q}).
  growth = peak RSS - RSS right after the data were made. For approximate indices the peak
  is read after build + first query.
- exact check: ids equal to numpy's row by row; "true-distance gap" compares the float64
  distances of the two returned id lists (0 unless a near-tie is ordered differently);
  "reported-distance gap" compares the distances the methods returned.
- numpy baseline: blocks of {qc} queries x {bc:,} points, |x|^2 - 2 q.x by one matmul per
  block into a reused buffer, argpartition per block, candidates merged, then sorted.
- the machine is shared and noisy: compare ratios, not seconds. OPENBLAS_CORETYPE /
  OPENBLAS_L2_SIZE, when set, apply to every OpenBLAS loaded here (faiss's and numpy's).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200000,1000000",
                        help="comma-separated numbers of indexed points")
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per method")
    parser.add_argument("--large-repeat", type=int, default=1,
                        help=f"timed runs of sklearn/numpy above {LARGE:,} points")
    parser.add_argument("--check", type=int, default=1_000,
                        help="queries whose ids and distances are compared with numpy's")
    parser.add_argument("--hnsw-max-size", type=int, default=1_000_000,
                        help="also build HNSW up to this many points (0: never)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 20,000 points, 1,000 queries, 2 runs")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.queries, args.repeat, args.large_repeat = "20000", 1_000, 2, 1
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    check_rows = np.sort(np.random.default_rng(SEED).choice(
        args.queries, min(args.check, args.queries), replace=False))

    start = time.perf_counter()
    print_header(args)
    for n in sizes:
        print_exact(n, run_exact(n, args, check_rows), args)
        methods = ["ivf"] + (["hnsw"] if n <= args.hnsw_max_size else [])
        print_approx(n, {name: in_fresh_process(measure_approx, name, n, args.queries,
                                                args.dim, args.k, args.repeat)
                         for name in methods})
    print(NOTES.format(q=f"{args.queries:,} x {args.dim} x 4 bytes", qc=NUMPY_QUERY_CHUNK,
                       bc=NUMPY_BASE_CHUNK, cores=os.cpu_count()).rstrip())
    print(f"- whole run: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
