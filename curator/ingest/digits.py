"""The built-in real data set: scikit-learn's 1,797 handwritten digits (8x8, 17 grey levels).

They ship inside scikit-learn, so the demo needs no download. Pixel values 0..16 are scaled to
0..255 grey so the images view and embed like any other greyscale picture.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from curator.images import from_array
from curator.ingest.engine import Draft, Loaded
from curator.ingest.source import Source

DIGITS_LEVELS = 16  # scikit-learn's digits take values 0..16


def digits_to_uint8(images: np.ndarray) -> np.ndarray:
    """Scale digit intensities 0..16 to 0..255 grey (rounded)."""
    return np.round(np.asarray(images, dtype=np.float64) * (255.0 / DIGITS_LEVELS)).astype(np.uint8)


def read_digits(n: int | None = None) -> Source:
    """The first ``n`` (default all 1,797) scikit-learn digits as labelled real samples."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = digits_to_uint8(bunch.images)
    targets = bunch.target
    count = len(images) if n is None else max(0, min(int(n), len(images)))

    def items() -> Iterator[Draft]:
        for i in range(count):
            yield Draft(
                origin=f"sklearn.datasets.load_digits[{i}]",
                load=lambda i=i: Loaded(from_array(images[i])),
                label=str(int(targets[i])),
                attributes={"digits_index": i},
            )

    return Source("digits", Path("sklearn.datasets.load_digits"), items,
                  config={"dataset": "sklearn.load_digits", "n": count}, total=count,
                  default_split="train=0.8,test=0.2")
