"""The ``precomputed`` backend: vectors the user already has, from a samples column.

Vectors made elsewhere (a user's own model) become a named embedding like any other, so
search, selection and reports treat them the same. See also :func:`import_vectors`.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from curator.embed.base import Embedder, EmbeddingError


def stack_vectors(values: pd.Series | list, *, where: str) -> np.ndarray:
    """A column of equal-length numeric lists as an (n, d) float32 array."""
    values = list(values)
    if not values:
        return np.zeros((0, 0), np.float32)
    lengths = set()
    for i, v in enumerate(values):
        if v is None:
            raise EmbeddingError(f"{where}: row {i} has no vector (null)")
        lengths.add(len(v))
    if len(lengths) != 1:
        raise EmbeddingError(f"{where}: vectors have different lengths {sorted(lengths)[:5]}; "
                             "every vector must have the same dimension")
    try:
        return np.asarray(np.stack([np.asarray(v, dtype=np.float64) for v in values]),
                          np.float32)
    except (TypeError, ValueError) as exc:
        raise EmbeddingError(f"{where}: vectors must be lists of numbers ({exc})") from None


class PrecomputedEmbedder(Embedder):
    """Vectors read from a list-of-numbers attribute column of the samples.

    Parameters
    ----------
    column
        The attribute column holding one vector per sample (all the same length).
    """

    name: ClassVar[str] = "precomputed"
    version: ClassVar[str] = "1"
    requires_fit: ClassVar[bool] = False

    def __init__(self, column: str = "vector") -> None:
        self.column = column

    @property
    def input_columns(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("sample_id", self.column)

    def fit(self, rows: pd.DataFrame, y=None) -> PrecomputedEmbedder:
        return self

    def transform(self, rows: pd.DataFrame) -> np.ndarray:
        self._check_columns(rows)
        return stack_vectors(rows[self.column], where=f"column {self.column!r}")
