"""Benchmark: rendering throughput per executor (in process, local pool of 2, Ray with 2).

Renders ``--n`` ``objects`` scenes at ``--size`` px with each executor (after a small
warm-up run that starts the pool or Ray), in one run, and prints images/s and the ratio to
one in-process worker. Same seed, same rows on every executor (tests/test_executor.py).

A second table renders ``--n`` parameter-space oversampling rows (interpolations between
rendered ``objects`` scenes, one pinned recipe each). The baseline is one ``generate`` call
per row in this process, as before the rows were packed into executor tasks.

Usage: ``python benchmarks/bench_executor.py [--n 160] [--size 128] [--no-ray]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from memory import machine_line  # benchmarks/memory.py (scripts run from benchmarks/)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=160)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    from curator import init_workspace
    from generators.recipe import load_recipe
    from generators.run import generate, shutdown_workers

    print(machine_line())
    recipe = load_recipe("objects", {"size": args.size})
    runs = [("local, 1 worker", {"workers": 1}), ("local, 2 workers", {"workers": 2})]
    if not args.no_ray:
        runs.append(("ray, 2 workers", {"workers": 2, "executor": "ray"}))
    base = None
    print(f"{'executor':<18}{'seconds':>9}{'images/s':>10}{'vs 1 worker':>13}")
    with tempfile.TemporaryDirectory(prefix="bench_executor_") as tmp:
        for i, (name, kw) in enumerate(runs):
            ws = init_workspace(Path(tmp) / f"ws{i}")
            generate(ws, recipe, 8, seed=99, **kw)  # warm-up: the pool or Ray starts here
            t0 = time.perf_counter()
            generate(ws, recipe, args.n, seed=1, **kw)
            dt = time.perf_counter() - t0
            base = base or dt
            print(f"{name:<18}{dt:>9.1f}{args.n / dt:>10.1f}{base / dt:>12.2f}x", flush=True)
        param_rows(args, recipe, runs, Path(tmp))
    shutdown_workers()
    if not args.no_ray:
        import ray

        ray.shutdown()


def param_rows(args, recipe, runs, tmp: Path) -> None:
    """Parameter rows: one generate per row (the old way) against packed runs per executor."""
    import shutil

    from curator import init_workspace, open_workspace
    from curator.workflows.param_oversample import interpolate_parameters, render_parameter_rows
    from generators.run import generate

    parents = init_workspace(tmp / "parents")
    generate(parents, recipe, 40, seed=0, workers=1)
    frame = parents.to_pandas(parents.scalar_columns())
    frame = frame[frame["label"] == frame["label"].mode()[0]]
    rows = interpolate_parameters(frame, args.n, k_neighbors=min(5, len(frame) - 1),
                                  random_state=0)
    over = {"size": args.size}
    print(f"\nparameter rows: {len(rows)} interpolations ({frame['label'].iloc[0]}, "
          f"{len(frame)} parents)")
    print(f"{'executor':<26}{'seconds':>9}{'rows/s':>10}{'vs per-row':>12}")
    ws = init_workspace(tmp / "per-row")
    shutil.rmtree(ws.root)
    shutil.copytree(parents.root, ws.root)
    ws = open_workspace(ws.root)
    t0 = time.perf_counter()
    for i in range(len(rows)):  # baseline: one in-process generate per pinned row
        render_parameter_rows(ws, rows.iloc[i:i + 1], seed=1, overrides=over, workers=1)
    base = time.perf_counter() - t0
    print(f"{'per-row generate calls':<26}{base:>9.1f}{len(rows) / base:>10.1f}{1:>11.2f}x",
          flush=True)
    for name, kw in runs:
        root = tmp / f"param-{name.replace(' ', '').replace(',', '-')}"
        shutil.copytree(parents.root, root)
        ws = open_workspace(root)
        render_parameter_rows(ws, rows.iloc[:4], seed=2, overrides=over, **kw)  # warm-up
        t0 = time.perf_counter()
        out = render_parameter_rows(ws, rows, seed=1, overrides=over, **kw)
        dt = time.perf_counter() - t0
        assert out["written"].all()
        print(f"{'packed, ' + name:<26}{dt:>9.1f}{len(rows) / dt:>10.1f}{base / dt:>11.2f}x",
              flush=True)


if __name__ == "__main__":
    main()
