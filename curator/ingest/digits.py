"""The built-in real data set: scikit-learn's 1,797 handwritten digits (8x8, 17 grey levels).

They ship inside scikit-learn, so the demo needs no download. Pixel values 0..16 are scaled to
0..255 grey so the images view and embed like any other greyscale picture.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from curator.images import DIGITS_LEVELS, digits_to_uint8, from_array
from curator.ingest.engine import Draft, Loaded
from curator.ingest.source import Source

__all__ = ["DIGITS_LEVELS", "digits_to_uint8", "read_digits"]


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
