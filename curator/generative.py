"""Generative oversampling in image space: fit a small model on minority images, sample more.

For real images no generator parameters exist to re-render from, so a PCA + Gaussian-mixture
model is fitted on the minority images alone; its samples become ``source="oversampled"`` rows
that carry the model's config hash and the ids of the images it was fitted on.
"""

from __future__ import annotations

import datetime as dt
import inspect
import warnings
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import pyarrow as pa
from sklearn.base import BaseEstimator
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture

from curator.hashing import config_hash, pixel_id, text_id
from curator.images import encode_png
from curator.stats import AnalysisError
from curator.validation import check_scalar

#: Bumped whenever the same config and seed would sample different pixels.
GENERATOR_VERSION = "1"
GENERATOR = "curator.generative.pca_gmm"
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
#: Training images with at most this many distinct grey values (e.g. the 17-level digits) get
#: samples snapped to those values, so invented rows share the real rows' pixel format.
MAX_SNAP_LEVELS = 32
#: Rows keep at most this many parent ids; ``oversample_parent_count`` has the full count.
MAX_PARENT_IDS = 256


def check_images(images: Any) -> tuple[np.ndarray, str]:
    """Stack same-size uint8 images (grey ``HxW`` or RGB ``HxWx3``) as ``(n, ...)``; and mode."""
    if isinstance(images, np.ndarray):
        items = list(images) if images.ndim >= 3 else [images]
    else:
        items = [np.asarray(im) for im in images]
    if len(items) < 2:
        raise AnalysisError(
            f"need at least 2 images to fit a generative model, got {len(items)}")
    first = items[0].shape
    for i, im in enumerate(items):
        if im.dtype != np.uint8:
            raise AnalysisError(
                f"image {i} has dtype {im.dtype}; expected uint8 pixels 0..255 "
                "(scikit-learn digits: curator.images.digits_to_uint8)")
        if im.shape != first:
            raise AnalysisError(
                f"images must all have one shape; image 0 is {first}, image {i} is {im.shape}; "
                "resize them first or fit one model per size")
    if len(first) == 2:
        mode = "L"
    elif len(first) == 3 and first[-1] == 3:
        mode = "RGB"
    else:
        raise AnalysisError(
            f"image shape {first} is not grey HxW or RGB HxWx3; convert the images first")
    return np.stack(items), mode


class PcaGmmImageModel(BaseEstimator):
    """PCA to a few dimensions, a Gaussian mixture there, samples mapped back to pixels.

    Parameters
    ----------
    n_components
        PCA dimensions: an int, or a float in (0, 1) for the fraction of variance to keep.
        An int above what the data allows is lowered (with a warning).
    n_mixture
        Mixture components; lowered (with a warning) to the number of images if larger.
    covariance_type
        As scikit-learn's :class:`~sklearn.mixture.GaussianMixture`.
    random_state
        Seeds the fit and, unless :meth:`sample` is given its own, the sampling.

    Any model with ``fit``, ``sample``, ``get_config`` and ``config_hash`` can stand in for
    this one in :func:`oversampled_rows`. ``get_params``/``set_params`` are scikit-learn's.
    """

    def __init__(self, n_components: float | int = 0.95, n_mixture: int = 4,
                 covariance_type: str = "full", random_state: int = 0) -> None:
        self.n_components = n_components
        self.n_mixture = n_mixture
        self.covariance_type = covariance_type
        self.random_state = random_state

    def _check_params(self) -> None:
        nc = self.n_components
        message = ("{name} must be a whole number >= 1 or a variance fraction in (0, 1), "
                   "got {value!r}")
        if isinstance(nc, Integral) and not isinstance(nc, bool):
            check_scalar(nc, "n_components", min_val=1, error=AnalysisError, message=message)
        else:  # a fraction of the variance (booleans and text refused here)
            check_scalar(nc, "n_components", Real, min_val=0, max_val=1, closed="neither",
                         error=AnalysisError, message=message)
        check_scalar(self.n_mixture, "n_mixture", min_val=1, error=AnalysisError)
        if self.covariance_type not in COVARIANCE_TYPES:
            raise AnalysisError(f"covariance_type must be one of {', '.join(COVARIANCE_TYPES)}, "
                                f"got {self.covariance_type!r}")
        check_scalar(self.random_state, "random_state", min_val=0, error=AnalysisError)

    def fit(self, images: Any) -> PcaGmmImageModel:
        """Fit on same-size uint8 images (a list or an ``(n, H, W[, 3])`` array)."""
        self._check_params()
        stack, mode = check_images(images)
        n = len(stack)
        X = stack.reshape(n, -1).astype(np.float64)
        n_components: float | int = self.n_components
        limit = min(n, X.shape[1])
        if isinstance(n_components, Integral) and n_components > limit:
            warnings.warn(f"n_components={n_components} lowered to {limit}: "
                          f"{n} images of {X.shape[1]} values allow no more", stacklevel=2)
            n_components = limit
        n_mixture = int(self.n_mixture)
        if n_mixture > n:
            warnings.warn(f"n_mixture={n_mixture} lowered to {n}, the number of images",
                          stacklevel=2)
            n_mixture = n
        self.pca_ = PCA(n_components=n_components, svd_solver="full",
                        random_state=self.random_state).fit(X)
        Z = self.pca_.transform(X)
        self.gmm_ = GaussianMixture(n_components=n_mixture,
                                    covariance_type=self.covariance_type,
                                    reg_covar=1e-6 * max(float(Z.var()), 1.0),
                                    random_state=self.random_state).fit(Z)
        levels = np.unique(stack)
        self.levels_ = levels if len(levels) <= MAX_SNAP_LEVELS else None
        self.image_shape_ = tuple(int(s) for s in stack.shape[1:])
        self.mode_ = mode
        self.n_mixture_ = n_mixture
        self.n_images_ = n
        # Two models with equal settings fitted on different images must not share ids.
        self.fit_data_hash_ = pixel_id(stack, mode)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "gmm_"):
            raise AnalysisError(f"this {type(self).__name__} is not fitted; call fit(images)")

    def sample(self, n: int, random_state: int | None = None) -> np.ndarray:
        """``n`` new uint8 images of the fitted shape; same seed, same images.

        ``random_state`` defaults to the model's own.
        """
        self._check_fitted()
        check_scalar(n, "n", min_val=0, error=AnalysisError)
        seed = self.random_state if random_state is None else random_state
        rng = np.random.default_rng(seed)
        gmm = self.gmm_
        k, d = gmm.means_.shape
        component = rng.choice(k, size=int(n), p=gmm.weights_ / gmm.weights_.sum())
        noise = rng.standard_normal((int(n), d))
        # Own draw (not GaussianMixture.sample) so the order is random, not by component.
        Z = gmm.means_[component] + np.einsum("nij,nj->ni", _cholesky(gmm)[component], noise)
        X = self.pca_.inverse_transform(Z) if len(Z) else np.zeros((0, self.pca_.n_features_in_))
        X = np.clip(np.rint(X), 0, 255)
        if self.levels_ is not None:
            X = _snap(X, self.levels_.astype(np.float64))
        return X.astype(np.uint8).reshape((int(n), *self.image_shape_))

    def get_config(self) -> dict[str, Any]:
        """JSON-able description of the fitted model, hashed into the rows it makes."""
        self._check_fitted()
        return {
            "class": type(self).__name__, "version": GENERATOR_VERSION,
            "params": self._params_in_order(), "image_shape": list(self.image_shape_),
            "mode": self.mode_, "pca_dims": int(self.pca_.n_components_),
            "n_mixture": int(self.n_mixture_), "n_images": int(self.n_images_),
            "levels": None if self.levels_ is None else [int(v) for v in self.levels_],
            "fit_data_hash": self.fit_data_hash_,
        }

    @property
    def config_hash(self) -> str:
        return config_hash(self.get_config())

    def _params_in_order(self) -> dict[str, Any]:
        """``get_params()`` in the constructor's order (scikit-learn sorts the names): the
        order configs and reprs were always written in."""
        params = self.get_params(deep=False)
        names = list(inspect.signature(type(self).__init__).parameters)[1:]
        return {name: params[name] for name in names}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params_in_order().items())
        return f"{type(self).__name__}({args})"


def _cholesky(gmm: GaussianMixture) -> np.ndarray:
    """Per-component lower Cholesky factors ``(k, d, d)`` of the mixture's covariances."""
    k, d = gmm.means_.shape
    cov = gmm.covariances_
    if gmm.covariance_type == "full":
        full = cov
    elif gmm.covariance_type == "tied":
        full = np.broadcast_to(cov, (k, d, d))
    elif gmm.covariance_type == "diag":
        full = cov[:, :, None] * np.eye(d)
    else:
        full = cov[:, None, None] * np.eye(d)
    return np.linalg.cholesky(full + 1e-12 * np.eye(d))


def _snap(X: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Replace each value by the nearest of the sorted ``levels``."""
    hi = np.clip(np.searchsorted(levels, X), 1, len(levels) - 1) if len(levels) > 1 else None
    if hi is None:
        return np.full_like(X, levels[0])
    lo = hi - 1
    return np.where(X - levels[lo] <= levels[hi] - X, levels[lo], levels[hi])


def oversampled_rows(images: Any, label: Any, parent_ids: Sequence[str], model: Any, *,
                     n: int, random_state: int = 0, split: str = "train",
                     max_parent_ids: int = MAX_PARENT_IDS,
                     now: dt.datetime | None = None) -> pa.Table:
    """Fit ``model`` on one class's images and return ``n`` new sample rows from it.

    Parameters
    ----------
    images, parent_ids
        The minority images and their sample ids, in the same order. ``model`` is fitted
        on them in place (any object with ``fit``, ``sample``, ``get_config`` and
        ``config_hash``, e.g. :class:`PcaGmmImageModel`).
    random_state
        Sampling seed, stored in ``seed``. Ids hash the model's config hash (which includes
        a fingerprint of the training pixels), the seed and the row index, so a rerun gives
        the same ids and re-appending adds nothing.
    max_parent_ids
        Every row was made from all the images, so every row's ``parent_ids`` lists them, up
        to the first ``max_parent_ids``; the attribute ``oversample_parent_count`` always
        holds the full count (a truncated list is shorter than it).

    Returns
    -------
    pyarrow.Table
        Rows for :meth:`curator.store.Workspace.append_samples`: ``source="oversampled"``,
        ``generator="curator.generative.pca_gmm"``, PNG ``image_bytes``, the model's
        ``config_hash`` and the attribute columns ``oversample_parent_count`` and
        ``oversample_index``.
    """
    ids = [str(p) for p in parent_ids]
    n_images = len(images)
    if len(ids) != n_images:
        raise AnalysisError(f"parent_ids has {len(ids)} ids for {n_images} images; "
                            "give one sample id per image, in the same order")
    if len(set(ids)) != len(ids):
        raise AnalysisError("parent_ids has duplicate ids; each image must be a distinct sample")
    check_scalar(random_state, "random_state", min_val=0, error=AnalysisError)
    model.fit(images)
    pixels = model.sample(n, random_state=int(random_state))
    config = model.get_config()
    chash = model.config_hash
    mode = "L" if pixels.ndim == 3 else "RGB"
    height, width = int(pixels.shape[1]), int(pixels.shape[2])
    now = now or dt.datetime.now(dt.timezone.utc)
    parents = ids[:max_parent_ids]
    rows = len(pixels)
    return pa.table({
        "sample_id": [text_id("oversampled", GENERATOR, chash, str(random_state), str(i))
                      for i in range(rows)],
        "source": ["oversampled"] * rows,
        "label": pa.array([None if label is None else str(label)] * rows, pa.string()),
        "split": [split] * rows,
        "image_bytes": pa.array([encode_png(p, mode) for p in pixels], pa.binary()),
        "width": pa.array([width] * rows, pa.int32()),
        "height": pa.array([height] * rows, pa.int32()),
        "mode": [mode] * rows,
        "origin": [f"{config['class']}:{chash}#{i}" for i in range(rows)],
        "generator": [GENERATOR] * rows,
        "generator_version": [GENERATOR_VERSION] * rows,
        "config_hash": [chash] * rows,
        "seed": pa.array([int(random_state)] * rows, pa.int64()),
        "parent_ids": pa.array([parents] * rows, pa.list_(pa.string())),
        "ingested_at": pa.array([now] * rows, pa.timestamp("us", tz="UTC")),
        "oversample_parent_count": pa.array([n_images] * rows, pa.int64()),
        "oversample_index": pa.array(range(rows), pa.int64()),
    })
