"""Benchmark: the real vs synthetic gap report, and its PRDC against a naive full-matrix one.

In one run, every measurement in a fresh process (so its peak memory is its own):

* PRDC, ``curator.gap.prdc`` (neighbour engine, blocks, no N x M matrix) vs the reference
  formulation of Naeem et al. on full float64 numpy distance matrices (real x real,
  fake x fake, real x fake), at a size the naive one can hold (default 10,000 x 10,000,
  128-d): wall time, peak memory, and whether the four numbers and every per-sample ball
  count agree;
* ``curator.gap.gap_report`` on 200,000 x 128 (100,000 real + 100,000 synthetic, 10 labels,
  seeded Gaussian blobs; one label's synthetic samples shifted, all slightly collapsed):
  wall time and peak memory, against the target of about 2 minutes on 2 cores, and the
  time of each metric on the overall stratum.

Usage: ``python benchmarks/bench_gap.py [--prdc-size 10000] [--n 200000] [--quick]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import sklearn
from memory import (  # benchmarks/memory.py (scripts run from benchmarks/)
    in_fresh_process,
    machine_line,
    reset_peak,
    status_kb,
)

from curator import gap

SEED = 0
DIM = 128
N_LABELS = 10
SUB_BLOBS = 5
TARGET_REPORT_S = 120.0


# -- data -----------------------------------------------------------------------------------
def make_blobs(n: int, dim: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` vectors, half real and half synthetic, from ``N_LABELS`` labels of
    ``SUB_BLOBS`` Gaussian sub-blobs each. Synthetic samples come from the same blobs with
    90% of the spread, and those of label 7 are moved by 0.3 per dimension.

    Returns ``(vectors float32, labels, is_synthetic)``.
    """
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((N_LABELS, dim)).astype(np.float32) * 3
    subs = centres[:, None, :] + rng.standard_normal((N_LABELS, SUB_BLOBS, dim)).astype(
        np.float32)
    labels = rng.integers(0, N_LABELS, n)
    synthetic = np.arange(n) >= n // 2
    X = subs[labels, rng.integers(0, SUB_BLOBS, n)]
    for s in range(0, n, 65_536):  # noise in blocks: no n x d float64 temporary
        e = min(n, s + 65_536)
        scale = np.where(synthetic[s:e], 0.9, 1.0).astype(np.float32)[:, None]
        X[s:e] += scale * rng.standard_normal((e - s, dim), dtype=np.float32)
    X[synthetic & (labels == 7)] += np.float32(0.3)
    return X, labels, synthetic


# -- methods --------------------------------------------------------------------------------
def naive_prdc(real: np.ndarray, fake: np.ndarray, k: int) -> dict:
    """The reference PRDC on full float64 distance matrices (what the paper's code does)."""
    def pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = a.astype(np.float64), b.astype(np.float64)
        sq = np.einsum("ij,ij->i", a, a)[:, None] + np.einsum("ij,ij->i", b, b)[None, :]
        sq -= 2 * (a @ b.T)
        np.maximum(sq, 0, out=sq)
        return np.sqrt(sq, out=sq)

    def kth(d: np.ndarray) -> np.ndarray:  # k+1-th smallest: the point itself comes first
        return np.partition(d, k, axis=1)[:, k]

    real_r = kth(pairwise(real, real))
    fake_r = kth(pairwise(fake, fake))
    rf = pairwise(real, fake)
    inside = rf < real_r[:, None]
    counts = inside.sum(axis=0)
    return {"precision": float((counts > 0).mean()),
            "recall": float((rf < fake_r[None, :]).any(axis=1).mean()),
            "density": float(counts.mean() / k),
            "coverage": float((rf.min(axis=1) < real_r).mean()), "counts": counts}


def ours_prdc(real: np.ndarray, fake: np.ndarray, k: int) -> dict:
    out = gap.prdc(real, fake, k=k, max_samples=None)
    return {**{m: out[m] for m in gap.PRDC_METRICS}, "counts": out["fake_real_ball_count"],
            "rounds": out["search_rounds"]}


PRDC_METHODS = {"ours": ours_prdc, "naive": naive_prdc}


# -- one measurement per fresh process ------------------------------------------------------
def _timed(fn) -> tuple[object, float, float]:
    """(result, wall seconds, cores busy on average)."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    out = fn()
    wall = time.perf_counter() - wall0
    return out, wall, (time.process_time() - cpu0) / max(wall, 1e-9)


def _warm_up() -> None:
    """Load faiss, BLAS and scikit-learn and start their thread pools on tiny data."""
    X, labels, synthetic = make_blobs(400, 8, seed=1)
    gap.gap_report(X, synthetic, labels=labels, n_boot=2, kid_subsets=2, kid_subset_size=20,
                   min_stratum=10)


def measure_prdc(method: str, n: int, dim: int, k: int) -> dict:
    _warm_up()
    base_kb = status_kb("VmRSS")
    X, _, synthetic = make_blobs(2 * n, dim)
    real, fake = X[~synthetic], X[synthetic]
    reset = reset_peak()
    data_kb = status_kb("VmRSS")
    out, wall, cores = _timed(lambda: PRDC_METHODS[method](real, fake, k))
    peak_kb = status_kb("VmHWM")
    return {"time_s": wall, "cores": cores, "result": out, "data_mb": X.nbytes / 2**20,
            "peak_mb": (peak_kb - base_kb) / 1024, "growth_mb": (peak_kb - data_kb) / 1024,
            "peak_reset": reset}


def measure_report(n: int, dim: int, breakdown: bool) -> dict:
    _warm_up()
    base_kb = status_kb("VmRSS")
    X, labels, synthetic = make_blobs(n, dim)
    reset = reset_peak()
    data_kb = status_kb("VmRSS")
    result, wall, cores = _timed(lambda: gap.gap_report(X, synthetic, labels=labels))
    peak_kb = status_kb("VmHWM")
    parts = {}
    if breakdown:  # each metric once more on the overall stratum, as gap_report runs it
        real, fake = X[~synthetic], X[synthetic]
        parts = {
            "fd (100 boot)": lambda: gap.frechet_interval(real, fake),
            "kid (100 x 1000)": lambda: gap.kid(real, fake),
            "prdc (20k/side)": lambda: gap.prdc(real, fake),
            "c2st (5-fold)": lambda: gap.classifier_two_sample_test(real, fake),
        }
        parts = {name: _timed(fn)[1] for name, fn in parts.items()}
    gap_table = result.tables["gap"]
    return {"time_s": wall, "cores": cores, "data_mb": X.nbytes / 2**20,
            "peak_mb": (peak_kb - base_kb) / 1024, "growth_mb": (peak_kb - data_kb) / 1024,
            "peak_reset": reset, "parts": parts,
            "rows": gap_table[["stratum", "n_real", "n_synthetic", "fd", "fd_real_baseline",
                               "kid", "kid_lo", "kid_hi", "precision", "recall", "density",
                               "coverage", "c2st_auc"]].to_dict(orient="records"),
            "findings": [f"{f.kind} ({f.subject})" for f in result.findings]}


# -- report ---------------------------------------------------------------------------------
def print_header() -> None:
    print(f"{machine_line()}, numpy {np.__version__}, scikit-learn "
          f"{sklearn.__version__}")


def print_prdc(n: int, k: int, res: dict[str, dict]) -> None:
    ours, naive = res["ours"], res["naive"]
    print(f"\nPRDC, {n:,} real x {n:,} synthetic, {DIM}-d, k={k} (data {ours['data_mb']:.0f} "
          "MiB); each method in a fresh process")
    head = (f"{'method':<22}{'time s':>8}{'cores':>6}{'ours faster':>12}{'peak MiB':>10}"
            f"{'growth MiB':>11}{'ours smaller':>13}")
    print(head)
    print("-" * len(head))
    for name, label in (("ours", "curator (engine)"), ("naive", "naive full matrices")):
        r = res[name]
        print(f"{label:<22}{r['time_s']:>8.2f}{r['cores']:>6.2f}"
              f"{r['time_s'] / ours['time_s']:>11.2f}x{r['peak_mb']:>10.0f}"
              f"{r['growth_mb']:>11.0f}{r['peak_mb'] / ours['peak_mb']:>12.1f}x")
    same = {m: ours["result"][m] == naive["result"][m] for m in gap.PRDC_METRICS}
    counts_equal = float((ours["result"]["counts"] == naive["result"]["counts"]).mean())
    print("values (ours / naive): " + ", ".join(
        f"{m} {ours['result'][m]:.4f}/{naive['result'][m]:.4f}" for m in gap.PRDC_METRICS))
    print(f"identical: {', '.join(m for m, ok in same.items() if ok) or 'none'}; per-fake "
          f"ball counts equal for {counts_equal:.2%} of fakes; search rounds "
          f"{ours['result']['rounds']}  {'pass' if all(same.values()) else 'MISS'}")


def print_report(n: int, res: dict) -> None:
    print(f"\ngap_report, {n:,} x {DIM} ({n // 2:,} real + {n - n // 2:,} synthetic, "
          f"{N_LABELS} labels; data {res['data_mb']:.0f} MiB), fresh process")
    ok = res["time_s"] <= TARGET_REPORT_S
    print(f"wall {res['time_s']:.1f} s (target <= {TARGET_REPORT_S:.0f} s)  "
          f"{'pass' if ok else 'MISS'}; cores busy {res['cores']:.2f}; peak memory "
          f"{res['peak_mb']:.0f} MiB over the interpreter ({res['peak_mb'] / res['data_mb']:.2f}x"
          f" the data), growth over the data {res['growth_mb']:.0f} MiB")
    if res["parts"]:
        print("overall stratum alone: " + ", ".join(f"{k} {v:.1f} s"
                                                    for k, v in res["parts"].items()))
    head = (f"{'stratum':<10}{'real':>7}{'synth':>7}{'FD':>8}{'FD base':>8}{'KID':>8}"
            f"{'KID lo':>8}{'KID hi':>8}{'prec':>6}{'rec':>6}{'dens':>6}{'cov':>6}{'AUC':>6}")
    print(head)
    print("-" * len(head))
    for r in res["rows"]:
        print(f"{r['stratum']:<10}{r['n_real']:>7}{r['n_synthetic']:>7}{r['fd']:>8.2f}"
              f"{r['fd_real_baseline']:>8.2f}{r['kid']:>8.3f}{r['kid_lo']:>8.3f}"
              f"{r['kid_hi']:>8.3f}{r['precision']:>6.2f}{r['recall']:>6.2f}"
              f"{r['density']:>6.2f}{r['coverage']:>6.2f}{r['c2st_auc']:>6.2f}")
    print("findings: " + "; ".join(res["findings"]))


NOTES = """
notes
- time: wall seconds of the call alone (data made and libraries warmed up before it);
  cores = CPU seconds / wall seconds. The machine may be shared: compare ratios.
- memory: peak = peak RSS - RSS after imports and a tiny warm-up (so it includes the data);
  growth = peak RSS - RSS right after the data were made (the peak mark is reset there via
  /proc/self/clear_refs). The naive PRDC holds three n x n float64 matrices.
- gap_report runs FD (block bootstrap), KID, PRDC (<= 20,000 rows per side) and the
  two-sample classifier for the overall set and each label, with 100 bootstrap replicates.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prdc-size", type=int, default=10_000,
                        help="real (and synthetic) samples of the PRDC comparison")
    parser.add_argument("--n", type=int, default=200_000, help="samples of the gap report")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--no-breakdown", action="store_true",
                        help="skip timing each metric on the overall stratum")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 and 20,000")
    args = parser.parse_args()
    if args.quick:
        args.prdc_size, args.n = 2_000, 20_000
    start = time.perf_counter()
    print_header()
    res = {name: in_fresh_process(measure_prdc, name, args.prdc_size, DIM, args.k)
           for name in PRDC_METHODS}
    print_prdc(args.prdc_size, args.k, res)
    print_report(args.n, in_fresh_process(measure_report, args.n, DIM, not args.no_breakdown))
    print(NOTES.rstrip())
    print(f"- whole run: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
