"""Benchmark: the full report (every section) on a large in-memory data set.

Builds seeded data like a real+synthetic workspace -- half real, half synthetic, 10 labels,
128-d embedding vectors (Gaussian blobs per label, synthetic shifted), generator attributes
(yaw with a side bias, colour temperature with a hole, a background that predicts the label),
an ablation series, a train/test split -- then runs ``reports.build.assemble_report`` over it,
exactly as ``curator report`` does after loading a workspace. Prints seconds per section,
the total against the target ("a few minutes on 2 cores" at 200k x 128), and peak memory as
a multiple of the vectors.

The PRDC memory comparison against a naive pairwise computation is in ``bench_gap.py``.

Usage: ``python benchmarks/bench_report.py [--n 200000] [--dim 128] [--n-boot 100]``
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pandas as pd
from memory import status_kb  # benchmarks/memory.py (scripts run from benchmarks/)

from reports.build import ReportConfig, ReportData, assemble_report

SEED = 0
TARGET_S = 300.0  # "within a few minutes": five


def make_data(n: int, dim: int, n_labels: int = 10) -> ReportData:
    """``n`` rows (half real) and their vectors; attributes on the synthetic half only."""
    rng = np.random.default_rng(SEED)
    labels = rng.integers(0, n_labels, n)
    real = np.arange(n) < n // 2
    centres = rng.standard_normal((n_labels, dim), dtype=np.float32) * 3
    vectors = centres[labels] + rng.standard_normal((n, dim), dtype=np.float32)
    vectors[~real] += np.float32(0.3)  # the real-vs-synthetic gap
    m = int((~real).sum())
    yaw = np.where(rng.random(m) < 0.8, rng.uniform(0, 60, m), rng.uniform(-60, 0, m))
    temp = rng.uniform(3000, 8000, m)
    temp = np.where((temp >= 5000) & (temp < 6000), temp - 2000, temp)
    syn_labels = labels[~real]
    bg = np.where(rng.random(m) < 0.7, np.where(syn_labels < 5, "texture", "flat"),
                  rng.choice(["texture", "flat", "gradient"], m))

    def synthetic_only(values, fill):
        out = np.full(n, fill, dtype=object if isinstance(fill, str) or fill is None
                      else np.float64)
        out[~real] = values
        return out

    ablated = rng.choice(["none", "lighting", "pose"], m, p=[0.8, 0.1, 0.1])
    frame = pd.DataFrame({
        "sample_id": [f"s{i:08d}" for i in range(n)],
        "source": np.where(real, "real", "synthetic"),
        "label": labels.astype(str),
        "split": np.where(rng.random(n) < 0.1, "test", "train"),
        "gen_recipe": synthetic_only(np.full(m, "bench", dtype=object), None),
        "gen_ablated": synthetic_only(ablated, None),
        "pose_yaw_deg": synthetic_only(yaw, np.nan),
        "color_temp_k": synthetic_only(temp, np.nan),
        "light_intensity": synthetic_only(rng.uniform(2, 6, m), np.nan),
        "bg_kind": synthetic_only(bg, None),
    })
    return ReportData(frame, "bench", frame, vectors, fingerprint="bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--n-boot", type=int, default=100)
    args = parser.parse_args()

    start = time.perf_counter()
    data = make_data(args.n, args.dim)
    made = time.perf_counter() - start
    base_kb = status_kb("VmRSS")
    timings: dict[str, float] = {}
    start = time.perf_counter()
    doc = assemble_report(data, ReportConfig(n_boot=args.n_boot), name="bench", timings=timings)
    html = doc.to_html()
    total = time.perf_counter() - start
    peak_kb = status_kb("VmHWM")
    vec_mb = data.vectors.nbytes / 1e6

    print(f"full report, {args.n:,} samples x {args.dim}-d ({vec_mb:.0f} MB of vectors), "
          f"n_boot {args.n_boot}; {os.cpu_count()} cores, {platform.machine()}, "
          f"data made in {made:.1f} s")
    print(f"{'section':<16}{'seconds':>10}")
    for key, seconds in timings.items():
        print(f"{key:<16}{seconds:>10.1f}")
    print(f"{'html + json':<16}{total - sum(timings.values()):>10.1f}")
    print(f"{'total':<16}{total:>10.1f}   target <= {TARGET_S:.0f} s: "
          f"{'met' if total <= TARGET_S else 'MISSED'}")
    print(f"peak RSS {peak_kb / 1e3:.0f} MB ({(peak_kb - base_kb) / 1e3:.0f} MB above the "
          f"loaded data; {peak_kb / 1e3 / vec_mb:.1f}x the vectors); page "
          f"{len(html) / 1e3:.0f} kB; {len(doc.findings())} findings, "
          f"{len(doc.requests)} generation requests")


if __name__ == "__main__":
    main()
