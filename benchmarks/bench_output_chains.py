"""Benchmark: a recipe's 8x8 output against scikit-learn's real digits, plain vs chained.

Renders ``--n`` samples of a recipe (default ``digits3d``) twice with the same seed, so the
scenes and sensor noise are the same: once with the recipe's own output section (the plain
area-average reduction to 8x8, 17 levels) and once with ``output: {chain: sklearn_digits}``
(the UCI/NIST chain, :func:`generators.output.apply_chain`). Each set is compared with the
1,797 real ``sklearn.datasets.load_digits`` images on the 0..16 scale:

* the per-pixel mean image (mean absolute difference to the real one, and its largest cell);
* the value histogram (share of 0 and of 16, mean value);
* the ink's extent (rows and columns holding a non-zero pixel);
* a classifier two-sample test AUC on the 64 raw pixels
  (:func:`curator.gap.classifier_two_sample_test`), with a real-vs-real floor (the real
  digits split in two halves at random).

Usage: ``python benchmarks/bench_output_chains.py [--recipe digits3d] [--n 400] [--seed 0]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits

from curator.gap import classifier_two_sample_test
from curator.images import DIGITS_LEVELS
from generators.recipe import load_recipe
from generators.run import render_preview


def digit_values(images: list[np.ndarray]) -> np.ndarray:
    """Stored 8x8 uint8 images back on the real digits' 0..16 scale, N x 8 x 8."""
    return np.rint(np.stack(images).astype(np.float64) * DIGITS_LEVELS / 255)


def describe(images: np.ndarray, real: np.ndarray) -> dict[str, float]:
    """The comparison numbers of one N x 8 x 8 set (0..16) against the real set."""
    ink = images > 0
    rows, cols = ink.any(axis=2).sum(axis=1), ink.any(axis=1).sum(axis=1)
    mean_gap = np.abs(images.mean(axis=0) - real.mean(axis=0))
    return {
        "mean abs. diff. of mean image to real": mean_gap.mean(),
        "max abs. diff. of mean image to real": mean_gap.max(),
        "share of 0": (images == 0).mean(),
        "share of 16": (images == DIGITS_LEVELS).mean(),
        "mean value": images.mean(),
        "rows with ink (mean)": rows.mean(),
        "share with ink in all 8 rows": (rows == 8).mean(),
        "cols with ink (mean)": cols.mean(),
    }


def c2st(real: np.ndarray, fake: np.ndarray) -> str:
    """Classifier two-sample test AUC [95% interval] on the flattened pixels."""
    auc, _ = classifier_two_sample_test(real.reshape(len(real), -1),
                                        fake.reshape(len(fake), -1), random_state=0)
    return f"{auc.estimate:.3f} [{auc.lo:.3f}, {auc.hi:.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="digits3d")
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    real = load_digits().images
    sets: dict[str, np.ndarray] = {}
    for name, overrides in (("current 8x8", None),
                            ("chain: sklearn_digits",
                             {"output": {"size": None, "levels": None,
                                         "chain": "sklearn_digits"}})):
        start = time.perf_counter()
        recipe = load_recipe(args.recipe, overrides)
        frames = render_preview(recipe, args.n, seed=args.seed, finished=True)
        sets[name] = digit_values([f.image for f in frames])
        print(f"rendered {args.n} {name} in {time.perf_counter() - start:.1f} s")

    columns = {"real (load_digits)": real, **sets}
    table = {name: describe(images, real) for name, images in columns.items()}
    half = np.random.default_rng(args.seed).permutation(len(real))
    auc = {"real (load_digits)": c2st(real[half[::2]], real[half[1::2]]) + " (half vs half)",
           **{name: c2st(real, images) for name, images in sets.items()}}

    print(f"\n{args.recipe}, n={args.n} synthetic, seed={args.seed}; real: "
          f"{len(real)} load_digits images; pixel values on 0..16\n")
    print("| measure | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for key in next(iter(table.values())):
        print(f"| {key} | " + " | ".join(f"{table[c][key]:.3f}" for c in columns) + " |")
    print("| C2ST AUC [95%] | " + " | ".join(auc[c] for c in columns) + " |")


if __name__ == "__main__":
    main()
