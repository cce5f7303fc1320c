"""The ``pixels`` backend: images resized to a small square, normalised, then PCA.

Right for tiny images such as the 8x8 digits, and a baseline for everything else.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

import numpy as np
import pandas as pd
from PIL import Image
from sklearn.decomposition import PCA

from curator.embed.base import (
    IMAGE_COLUMN,
    Embedder,
    EmbeddingError,
    as_gray_float,
    as_rgb_float,
)
from curator.validation import check_scalar

COLORS = ("gray", "rgb")


def _resize(channel: np.ndarray, size: int) -> np.ndarray:
    if channel.shape == (size, size):
        return channel
    # BOX averages every source pixel under a target pixel (area resampling).
    img = Image.fromarray(channel, mode="F")
    return np.asarray(img.resize((size, size), Image.Resampling.BOX), dtype=np.float32)


def image_features(pixels: np.ndarray, mode: str, size: int, color: str) -> np.ndarray:
    """One image as a flat float32 vector of ``size*size`` (gray) or ``3*size*size`` values."""
    if color == "gray":
        return _resize(as_gray_float(pixels, mode), size).reshape(-1)
    rgb = as_rgb_float(pixels, mode)
    return np.concatenate([_resize(np.ascontiguousarray(rgb[:, :, c]), size).reshape(-1)
                           for c in range(3)])


class PixelEmbedder(Embedder):
    """Resized, normalised pixels, optionally reduced by PCA.

    Parameters
    ----------
    size
        Side of the square the image is resized to (area averaging), in pixels.
    color
        ``"gray"`` (luminance) or ``"rgb"``.
    n_components
        PCA components kept (capped by the number of fit samples and features);
        ``None`` keeps the raw normalised pixels.
    whiten
        Scale components to unit variance (PCA whitening).
    random_state
        Seed for the randomized PCA solver on large inputs.
    """

    name: ClassVar[str] = "pixels"
    version: ClassVar[str] = "1"
    input_columns: ClassVar[tuple[str, ...]] = ("sample_id", IMAGE_COLUMN, "mode")

    def __init__(self, size: int = 16, color: str = "gray", n_components: int | None = 32,
                 whiten: bool = False, random_state: int = 0) -> None:
        self.size = size
        self.color = color
        self.n_components = n_components
        self.whiten = whiten
        self.random_state = random_state

    def _validate(self) -> None:
        check_scalar(self.size, "size", min_val=1, max_val=512, error=EmbeddingError,
                     message="pixels: {name} must be an integer in 1..512, got {value!r}")
        if self.color not in COLORS:
            raise EmbeddingError(f"pixels: color must be one of {COLORS}, got {self.color!r}")
        check_scalar(self.n_components, "n_components", min_val=1, error=EmbeddingError,
                     allow_none=True,
                     message="pixels: {name} must be {expected} or None, got {value!r}")

    def features(self, rows: pd.DataFrame) -> np.ndarray:
        """The normalised, resized pixels of every row, one flat row each."""
        self._validate()
        self._check_columns(rows)
        dim = self.size * self.size * (1 if self.color == "gray" else 3)
        out = np.empty((len(rows), dim), np.float32)
        for i, (pixels, mode) in enumerate(zip(rows[IMAGE_COLUMN], rows["mode"], strict=True)):
            out[i] = image_features(pixels, mode, self.size, self.color)
        return out

    def fit(self, rows: pd.DataFrame, y=None) -> PixelEmbedder:
        return self.fit_batches([rows])

    def fit_batches(self, batches: Iterable[pd.DataFrame]) -> PixelEmbedder:
        """Fit PCA on the small resized features of each batch (images are not kept)."""
        parts = [self.features(b) for b in batches]
        feats = np.concatenate(parts) if parts else np.zeros((0, 1), np.float32)
        if len(feats) == 0:
            raise EmbeddingError("pixels: cannot fit on zero images")
        if self.n_components is None:
            self.mean_ = feats.mean(axis=0)
            self.components_ = np.zeros((0, feats.shape[1]), np.float32)
            self.scale_ = np.ones(0, np.float32)
            return self
        k = min(self.n_components, len(feats), feats.shape[1])
        pca = PCA(n_components=k, whiten=False, random_state=self.random_state).fit(feats)
        self.mean_ = pca.mean_.astype(np.float32)
        self.components_ = pca.components_.astype(np.float32)
        var = pca.explained_variance_.astype(np.float32)
        self.scale_ = (1.0 / np.sqrt(np.maximum(var, 1e-12))).astype(np.float32) if self.whiten \
            else np.ones(k, np.float32)
        return self

    def transform(self, rows: pd.DataFrame) -> np.ndarray:
        self._check_fitted()
        feats = self.features(rows)
        if self.components_.shape[0] == 0:
            return feats
        return ((feats - self.mean_) @ self.components_.T) * self.scale_

    def get_state(self) -> dict[str, np.ndarray]:
        if not hasattr(self, "components_"):
            return {}
        return {"mean": self.mean_, "components": self.components_, "scale": self.scale_}

    def set_state(self, state: dict[str, np.ndarray]) -> PixelEmbedder:
        self.mean_ = np.asarray(state["mean"], np.float32)
        self.components_ = np.asarray(state["components"], np.float32)
        self.scale_ = np.asarray(state["scale"], np.float32)
        return self
