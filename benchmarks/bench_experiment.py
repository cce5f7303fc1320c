"""Benchmark: a full real:synthetic ratio sweep on the digits, against the bare model fits.

Builds a temporary workspace (all 1,797 scikit-learn digits, ``--synthetic`` rendered
``digits3d`` samples, the 8x8 ``pixels`` embedding), then times, for each proxy model,
``curator.workflows.experiments.ratio_experiment`` over 5 real shares (0, 0.1, 0.25, 0.5, 1) x 3
seeds (15 runs: the issue's "full sweep"), end to end: loading, the held-out split and its
leakage guard, the ``mix`` selector, fitting, scoring, caching, summarizing.

The baseline is the bare cost inside it: the same 15 model fits and predictions on the
same mixes, with nothing else (what a notebook loop that skipped the guard and the
selection would spend). ``overhead`` = sweep time / baseline time. Target: the full sweep
within a few minutes (180 s) on 2 cores for every model; a re-run (all cached) in seconds.

Usage: ``python benchmarks/bench_experiment.py [--synthetic 900] [--models logistic,mlp,hgb]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import sklearn
from memory import machine_line  # benchmarks/memory.py (scripts run from benchmarks/)

TARGET_S = 180.0
FRACTIONS = (0, 0.1, 0.25, 0.5, 1)
SEEDS = 3


def build(root: Path, n_synthetic: int):
    from curator import init_workspace
    from curator.embed import PixelEmbedder, embed_workspace
    from curator.ingest import ingest, read_digits
    from generators.recipe import load_recipe
    from generators.run import generate

    ws = init_workspace(root / "ws")
    ingest(ws, read_digits())
    generate(ws, load_recipe("digits3d"), n_synthetic, seed=0)
    embed_workspace(ws, PixelEmbedder(size=8, n_components=16), name="pixels")
    return ws


def bare_fits(ws, model: str) -> float:
    """The same mixes' fits and predictions alone (mixes drawn beforehand, untimed)."""
    from curator.experiments import fit_proxy, mix_points, mix_rows
    from curator.provenance import is_main_synthetic
    from curator.workflows.experiments import load_sweep_data

    frame, data = load_sweep_data(ws, "pixels")
    scored = data.scored_labels()
    syn = is_main_synthetic(frame) & data.holdout.trainable & scored
    real = (frame["source"] == "real").to_numpy() & data.holdout.trainable & scored
    per_class = int(real.sum()) // len(set(data.labels[real].tolist()))
    held = data.holdout.heldout
    mixes = [mix_rows(data.X, data.labels, real, syn, p, per_class, s)
             for p in mix_points(FRACTIONS) for s in range(SEEDS)]
    start = time.perf_counter()
    for rows_real, rows_syn in mixes:
        proxy = fit_proxy(model, data.X[rows_real], data.labels[rows_real], data.X[rows_syn],
                          data.labels[rows_syn], random_state=0)
        proxy.predict(data.X[held])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=900, help="digits3d renders")
    parser.add_argument("--models", default="logistic,mlp,hgb")
    args = parser.parse_args()
    from curator.workflows.experiments import ratio_experiment

    print(machine_line() + f"; scikit-learn {sklearn.__version__}")
    with tempfile.TemporaryDirectory(prefix="bench_experiment_") as tmp:
        start = time.perf_counter()
        ws = build(Path(tmp), args.synthetic)
        print(f"workspace: 1,797 real digits + {args.synthetic} digits3d, pixels embedding "
              f"({time.perf_counter() - start:.0f} s to build, not timed below)")
        print(f"sweep: real shares {', '.join(map(str, FRACTIONS))} x {SEEDS} seeds = "
              f"{len(FRACTIONS) * SEEDS} runs, mixed regime, all real training samples")
        head = (f"{'model':<10}{'sweep s':>9}{'bare fits s':>12}{'overhead':>9}"
                f"{'re-run s':>9}{'best mix':>16}{'accuracy':>9}  target")
        print(head)
        print("-" * len(head))
        ok = True
        for model in args.models.split(","):
            t0 = time.perf_counter()
            summary = ratio_experiment(ws, "pixels", model=model, seeds=SEEDS,
                                       real_fractions=FRACTIONS)
            sweep_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            again = ratio_experiment(ws, "pixels", model=model, seeds=SEEDS,
                                     real_fractions=FRACTIONS)
            rerun_s = time.perf_counter() - t0
            bare = bare_fits(ws, model)
            rec = summary.result.tables["recommendations"].iloc[0]
            met = sweep_s <= TARGET_S and again.new_runs == 0
            ok &= met
            print(f"{model:<10}{sweep_s:>9.1f}{bare:>12.1f}{sweep_s / bare:>8.2f}x"
                  f"{rerun_s:>9.1f}{rec['best']:>16}{rec['accuracy']:>9.3f}  "
                  f"{'met' if met else 'MISSED'}")
        print(f"\nnotes\n- sweep: wall seconds of ratio_experiment end to end; bare fits: the "
              f"same {len(FRACTIONS) * SEEDS} fits + predictions alone; overhead = sweep / "
              "bare.\n- re-run: the same call again, every run from the cache.\n"
              f"- target: sweep <= {TARGET_S:.0f} s on this machine and nothing retrained on "
              f"re-run: {'met' if ok else 'MISSED'}\n- accuracy: real held-out (the "
              f"digits' test split), mean over seeds, of the best mix.")


if __name__ == "__main__":
    main()
