"""The embedder protocol: estimators that turn sample rows into float32 vectors.

Every backend is a scikit-learn style estimator (``fit``/``transform``, parameters stored
unmodified in ``__init__``, so ``clone`` works) with a ``name``, a ``version`` and a
``config_hash`` that is stored with its vectors; fitted state round-trips as plain arrays
(``get_state``/``set_state``, saved as ``.npz`` without pickle).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.base import BaseEstimator, TransformerMixin

from curator.errors import CuratorError
from curator.hashing import config_hash


class EmbeddingError(CuratorError):
    """An embedding cannot be made, found, or reused as asked."""


#: Column the embedding engine fills with decoded pixel arrays (H x W [x C], uint8 or
#: uint16) for backends that list it in ``input_columns``; ``mode`` holds each image's mode.
IMAGE_COLUMN = "image"


class Embedder(TransformerMixin, BaseEstimator):
    """Base class: subclasses set ``name``, ``version``, ``input_columns`` and implement
    ``fit``/``transform`` on a :class:`pandas.DataFrame` of sample rows.

    ``input_columns`` names the sample columns ``transform`` reads; the special column
    ``"image"`` asks the engine to decode each sample's pixels into that column (and its
    ``mode`` next to it), so embedders stay pure functions of arrays.
    """

    name: ClassVar[str] = "base"
    version: ClassVar[str] = "1"
    input_columns: ClassVar[tuple[str, ...]] = ()
    #: True when ``fit`` learns something from data (PCA, scaling); False for fixed models.
    requires_fit: ClassVar[bool] = True

    # -- protocol ---------------------------------------------------------------------------
    def fit(self, rows: pd.DataFrame, y: Any = None) -> Embedder:  # pragma: no cover - abstract
        raise NotImplementedError

    def transform(self, rows: pd.DataFrame) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def fit_batches(self, batches: Iterable[pd.DataFrame]) -> Embedder:
        """Fit on rows that arrive in batches (the engine's way: decoded images of a whole
        fit sample need not fit in memory). Backends that can reduce each batch first
        override this; the default concatenates."""
        frames = list(batches)
        return self.fit(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame())

    def required_columns(self, schema: pa.Schema) -> list[str]:
        """Sample columns to read, given the samples' schema (``"image"`` = decoded pixels)."""
        return list(self.input_columns)

    def get_state(self) -> dict[str, np.ndarray]:
        """Fitted state as named numeric arrays (empty for stateless backends)."""
        return {}

    def set_state(self, state: dict[str, np.ndarray]) -> Embedder:
        """Restore what :meth:`get_state` returned; returns ``self``."""
        return self

    def is_fitted(self) -> bool:
        return not self.requires_fit or bool(self.get_state())

    # -- identity ---------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """Backend, version and parameters: what the vectors depend on besides the data."""
        return {"backend": self.name, "version": self.version,
                "params": _jsonable(self.get_params(deep=False))}

    def config_hash(self) -> str:
        return config_hash(self.config())

    # -- helpers for subclasses -------------------------------------------------------------
    def _check_columns(self, rows: pd.DataFrame) -> None:
        missing = [c for c in self.input_columns if c not in rows.columns]
        if missing:
            raise EmbeddingError(
                f"the {self.name!r} embedder needs column(s) {missing}; got "
                f"{', '.join(map(str, rows.columns)) or 'none'}")

    def _check_fitted(self) -> None:
        if not self.is_fitted():
            raise EmbeddingError(
                f"the {self.name!r} embedder is not fitted; call fit() first")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def as_rgb_float(pixels: np.ndarray, mode: str) -> np.ndarray:
    """An image as H x W x 3 float32 in [0, 1]; alpha is composited over black.

    16-bit images (``I;16``) are scaled by 65535, grayscale is repeated on three channels.
    """
    arr = np.asarray(pixels)
    scale = 65535.0 if mode == "I;16" or arr.dtype == np.uint16 else 255.0
    out = arr.astype(np.float32) / scale
    if out.ndim == 2:
        return np.repeat(out[:, :, None], 3, axis=2)
    if mode in ("LA", "RGBA") or out.shape[2] in (2, 4):
        alpha = out[:, :, -1:]
        out = out[:, :, :-1] * alpha
    if out.shape[2] == 1:
        out = np.repeat(out, 3, axis=2)
    return out


def as_gray_float(pixels: np.ndarray, mode: str) -> np.ndarray:
    """An image as H x W float32 luminance in [0, 1] (ITU-R 601 weights, alpha over black)."""
    rgb = as_rgb_float(pixels, mode)
    return rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def check_vectors(vectors: np.ndarray, *, where: str) -> np.ndarray:
    """Validate vectors as a finite 2-D float32 array; names the first bad row.

    The same check the neighbour engine applies (:func:`curator.neighbors.as_float32`),
    reported as an :class:`EmbeddingError`.
    """
    from curator.neighbors import NeighborsError, as_float32

    try:
        return as_float32(vectors, what=where)
    except NeighborsError as exc:
        raise EmbeddingError(str(exc)) from None
