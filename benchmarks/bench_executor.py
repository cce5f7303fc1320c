"""Benchmark: rendering throughput per executor (in process, local pool of 2, Ray with 2).

Renders ``--n`` ``objects`` scenes at ``--size`` px with each executor (after a small
warm-up run that starts the pool or Ray), in one run, and prints images/s and the ratio to
one in-process worker. Same seed, same rows on every executor (tests/test_executor.py).

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
    shutdown_workers()
    if not args.no_ray:
        import ray

        ray.shutdown()


if __name__ == "__main__":
    main()
