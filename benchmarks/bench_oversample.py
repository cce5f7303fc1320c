"""Benchmark: SMOTE oversampling with provenance (``curator.oversample``) vs imbalanced-learn.

For each case (default 1,000,000 x 64 float32 with a 5% minority, and the same size with a
large 30% minority), in one run, every method in a fresh process (so its peak memory is its
own), on the same seeded data (a standard-normal majority and a Gaussian-blob minority, two
classes, labels shuffled):

* ``imblearn``: ``imblearn.over_sampling.SMOTE(random_state=0).fit_resample(X, y)``, its
  default neighbour search (scikit-learn ``NearestNeighbors``, brute force for 64-d): the
  baseline;
* ``ours``: ``curator.oversample.oversample(X, y)``: the same SMOTE on ``NeighborIndex``
  (faiss, exact) that also records each new row's two parents and weight;
* ``imblearn+index``: ``SMOTE(random_state=0, k_neighbors=NeighborIndex(6))``: our engine in
  imbalanced-learn without provenance (what the neighbour search alone buys).

Checks that the generated rows of every method are identical to the baseline's (up to a
1e-4 share of rows whose neighbours are tied to float32 precision), and prints
wall time and peak memory as ratios to the baseline against the targets: no slower
(speed-up >= 1) and no more memory (peak ratio <= 1); faster when the minority is large.

Usage: ``python benchmarks/bench_oversample.py [--n 1000000] [--dim 64] [--minority 0.05]
[--large-minority 0.3] [--repeat 1] [--quick]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import imblearn
import numpy as np
import sklearn
from memory import (  # benchmarks/memory.py (scripts run from benchmarks/)
    in_fresh_process,
    machine_line,
    reset_peak,
    status_kb,
)

SEED = 0
K = 5
#: Distance of the minority blob's centre from the majority's (in units of its sd) and its
#: width: a separate blob that still overlaps the majority's tail.
MINORITY_SHIFT = 4.0
MINORITY_WIDTH = 0.5
TARGET_SPEEDUP = 1.0
TARGET_MEMORY = 1.0
#: RSS noise allowed on top of the memory target (page-granular accounting, allocator slack).
MEMORY_SLACK = 0.02


# -- data -----------------------------------------------------------------------------------
def make_data(n: int, dim: int, minority: float, seed: int = SEED
              ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` float32 vectors, label ``"minority"`` (a ``minority`` fraction, shuffled among
    the rows) a Gaussian blob of width ``MINORITY_WIDTH`` around a random centre
    ``MINORITY_SHIFT`` away from the origin, ``"majority"`` standard normal. No ``n x d``
    float64 temporary. Labels are strings, the same array for every method (``oversample``
    takes strata keys)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, dim), dtype=np.float32)
    rows = np.sort(rng.choice(n, int(round(minority * n)), replace=False))
    y = np.full(n, "majority", dtype="<U8")
    y[rows] = "minority"
    centre = rng.standard_normal(dim).astype(np.float32)
    centre *= np.float32(MINORITY_SHIFT / np.linalg.norm(centre))
    for s in range(0, len(rows), 65_536):
        block = rows[s:s + 65_536]
        X[block] = X[block] * np.float32(MINORITY_WIDTH) + centre
    return X, y


# -- methods (each: (X, y) -> the generated rows, (m, d) float32) ----------------------------
def run_imblearn(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    from imblearn.over_sampling import SMOTE

    X_res, _ = SMOTE(random_state=0, k_neighbors=K).fit_resample(X, y)
    return X_res[len(X):]


def run_ours(X: np.ndarray, y: np.ndarray):
    from curator.oversample import oversample

    return oversample(X, y, k_neighbors=K)


def run_imblearn_index(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    from imblearn.over_sampling import SMOTE

    from curator.neighbors import NeighborIndex

    X_res, _ = SMOTE(random_state=0, k_neighbors=NeighborIndex(K + 1)).fit_resample(X, y)
    return X_res[len(X):]


METHODS = {"imblearn": run_imblearn, "ours": run_ours, "imblearn+index": run_imblearn_index}
LABELS = {"imblearn": "imblearn SMOTE (sklearn NN)", "ours": "curator oversample",
          "imblearn+index": "imblearn SMOTE + NeighborIndex"}
BASELINE = "imblearn"


# -- one measurement per fresh process ------------------------------------------------------
def measure(method: str, n: int, dim: int, minority: float, repeat: int, out_dir: str
            ) -> dict:
    """Time ``method`` on the seeded data (best of ``repeat``), peak RSS over the first run;
    write its generated rows to ``out_dir`` for the identity check."""
    tiny_X, tiny_y = make_data(2_000, dim, 0.2, seed=1)  # load libraries, start thread pools
    METHODS[method](tiny_X, tiny_y)
    del tiny_X, tiny_y
    base_kb = status_kb("VmRSS")
    X, y = make_data(n, dim, minority)
    reset = reset_peak()
    data_kb = status_kb("VmRSS")
    times, cores, peak_kb, out = [], [], 0.0, None
    for i in range(repeat):
        out = None  # the previous result is freed before the next run
        wall0, cpu0 = time.perf_counter(), time.process_time()
        out = METHODS[method](X, y)
        wall = time.perf_counter() - wall0
        times.append(wall)
        cores.append((time.process_time() - cpu0) / max(wall, 1e-9))
        if i == 0:
            peak_kb = status_kb("VmHWM")
    provenance = None
    if method == "ours":  # the table: check it reproduces its own vectors
        new, frame = out.vectors, out.frame
        a = X[frame["parent_a"].astype(np.int64).to_numpy()]
        b = X[frame["parent_b"].astype(np.int64).to_numpy()]
        w = frame["weight"].to_numpy()[:, None]
        provenance = float(np.abs(a + w * (b - a) - new).max()) if len(new) else 0.0
    else:
        new = np.asarray(out)
    path = os.path.join(out_dir, f"{method}.npy")
    np.save(path, new)
    best = int(np.argmin(times))
    return {"time_s": times[best], "cores": cores[best], "times": times,
            "data_mb": X.nbytes / 2**20, "peak_mb": (peak_kb - base_kb) / 1024,
            "growth_mb": (peak_kb - data_kb) / 1024, "peak_reset": reset, "path": path,
            "n_new": len(new), "provenance_err": provenance}


# -- report ---------------------------------------------------------------------------------
def print_header() -> None:
    import faiss

    print(f"{machine_line()}, numpy {np.__version__}, scikit-learn "
          f"{sklearn.__version__}, imbalanced-learn {imblearn.__version__}, faiss "
          f"{faiss.__version__}")


#: Generated rows allowed to differ from the baseline's: where two neighbours of a minority
#: row are tied to float32 precision, faiss (float32 distances) and scikit-learn (float64)
#: may order them differently, and SMOTE then interpolates towards the other one.
NEAR_TIE_SHARE = 1e-4


def compare(base_path: str, path: str) -> tuple[str, bool]:
    """``(verdict, same)``: identical, or differing only in a near-tie share of rows."""
    a, b = np.load(base_path), np.load(path)
    if a.shape != b.shape:
        return f"shape {b.shape} vs {a.shape}", False
    if np.array_equal(a, b):
        return "identical", True
    rows = int((a != b).any(axis=1).sum())
    ok = rows <= NEAR_TIE_SHARE * len(a)
    why = " (near-tied neighbours ordered differently: within tolerance)" if ok else ""
    return f"{rows:,} rows differ (max |diff| {float(np.abs(a - b).max()):.2g}){why}", ok


def run_case(n: int, dim: int, minority: float, repeat: int, methods: list[str]) -> bool:
    n_min = int(round(minority * n))
    print(f"\nSMOTE, {n:,} x {dim} float32, minority {minority:.0%} ({n_min:,} rows, "
          f"{n - 2 * n_min:,} to generate), k={K}; each method in a fresh process, "
          f"best of {repeat}")
    with tempfile.TemporaryDirectory(prefix="bench_oversample_") as tmp:
        res = {m: in_fresh_process(measure, m, n, dim, minority, repeat, tmp) for m in methods}
        same = {m: compare(res[BASELINE]["path"], res[m]["path"]) for m in methods
                if m != BASELINE}
    base = res[BASELINE]
    head = (f"{'method':<32}{'time s':>8}{'cores':>6}{'speed-up':>9}{'peak MiB':>10}"
            f"{'growth MiB':>11}{'mem ratio':>10}  target")
    print(f"data {base['data_mb']:.0f} MiB")
    print(head)
    print("-" * len(head))
    ok_all = True
    for m in methods:
        r = res[m]
        speed = base["time_s"] / r["time_s"]
        mem = r["peak_mb"] / base["peak_mb"]
        if m == BASELINE:
            verdict = "(baseline)"
        else:
            slower = speed < TARGET_SPEEDUP
            bigger = mem > TARGET_MEMORY + MEMORY_SLACK
            ok_all &= not (slower or bigger) if m == "ours" else True
            verdict = "met" if not (slower or bigger) else ("MISSED: " + ", ".join(
                w for w, bad in (("slower", slower), ("more memory", bigger)) if bad))
        print(f"{LABELS[m]:<32}{r['time_s']:>8.2f}{r['cores']:>6.2f}{speed:>8.2f}x"
              f"{r['peak_mb']:>10.0f}{r['growth_mb']:>11.0f}{mem:>9.2f}x  {verdict}")
    for m, (verdict, ok) in same.items():
        print(f"generated rows, {LABELS[m]} vs baseline: {verdict} "
              f"({res[m]['n_new']:,} rows)")
        ok_all &= ok
    if "ours" in res and res["ours"]["provenance_err"] is not None:
        print(f"provenance: x_a + weight (x_b - x_a) reproduces every vector to "
              f"{res['ours']['provenance_err']:.1g}")
    if repeat > 1:
        print("all times: " + "; ".join(f"{m} " + ", ".join(f"{t:.2f}" for t in res[m]["times"])
                                        for m in methods))
    return ok_all


NOTES = """
notes
- time: wall seconds of the call alone (data made, libraries loaded and thread pools started
  on tiny data before it); cores = CPU seconds / wall seconds. speed-up = baseline time /
  this time (> 1: faster). The machine may be shared: compare ratios within a run.
- memory: peak = peak RSS - RSS after imports and a tiny warm-up (so it includes the data);
  growth = peak RSS - RSS right after the data were made (peak mark reset there via
  /proc/self/clear_refs); mem ratio = peak / baseline peak (< 1: less memory).
- target: speed-up >= 1 and mem ratio <= 1.02 (2% RSS noise; "no slower, no more
  memory"), and a speed-up > 1 for the large minority, where its kNN search dominates.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="rows")
    parser.add_argument("--dim", type=int, default=64, help="features")
    parser.add_argument("--minority", type=float, default=0.05, help="minority fraction")
    parser.add_argument("--large-minority", type=float, default=0.30,
                        help="minority fraction of the second case (0: skip it)")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per method (best)")
    parser.add_argument("--no-index", action="store_true",
                        help="skip imblearn SMOTE + NeighborIndex (no provenance)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 100,000 rows")
    args = parser.parse_args()
    if args.quick:
        args.n = 100_000
    methods = [m for m in METHODS if not (args.no_index and m == "imblearn+index")]
    start = time.perf_counter()
    print_header()
    ok = run_case(args.n, args.dim, args.minority, args.repeat, methods)
    if args.large_minority:
        ok &= run_case(args.n, args.dim, args.large_minority, args.repeat, methods)
    print(NOTES.rstrip())
    print(f"- whole run: {time.perf_counter() - start:.0f} s; targets for curator "
          f"oversample {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
