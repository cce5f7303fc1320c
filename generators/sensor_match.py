"""Sensor matching: measure a real camera's noise and blur on its images, as recipe ranges.

Noise uses Immerkær's estimator (a Laplacian-difference kernel that cancels smooth image
structure); blur uses the re-blur gradient ratio at strong edges (Zhuo and Sim): blurring
an edge of blur s by r more divides its gradient peak by sqrt(s² + r²) / s.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import ndimage

from curator.results import ResultMixin
from generators.errors import GeneratorError

MIN_SIDE_PX = 32  # below this there are too few edges and pixels to measure anything
_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)
_REBLUR_PX = 1.0
# Gradients by central differences add a little blur of their own; measured on ideal steps.
_GRADIENT_BLUR_PX = 0.45


def _float_channels(image: np.ndarray) -> np.ndarray:
    arr = np.asarray(image, dtype=np.float64) / 255.0
    return arr[..., None] if arr.ndim == 2 else arr[..., :3]


def estimate_noise_std(image: np.ndarray) -> float:
    """Additive noise standard deviation in 0..1 units (mean over colour channels)."""
    channels = _float_channels(image)
    h, w = channels.shape[:2]
    sigmas = []
    for c in range(channels.shape[-1]):
        response = ndimage.convolve(channels[..., c], _IMMERKAER, mode="nearest")[1:-1, 1:-1]
        sigmas.append(math.sqrt(math.pi / 2) * np.abs(response).sum() / (6 * (w - 2) * (h - 2)))
    return float(np.mean(sigmas))


def estimate_blur_sigma(image: np.ndarray, *, edge_quantile: float = 0.98) -> float:
    """Gaussian blur sigma in pixels at the image's strongest edges (nan if it has none)."""
    grey = _float_channels(image).mean(axis=-1)
    # Smooth first, more on noisy images, so edges rather than noise set the gradients;
    # the smoothing is taken out of the result below.
    noise = estimate_noise_std(image)
    pre = max(0.5, 25.0 * noise)
    grey = ndimage.gaussian_filter(grey, pre)
    reblurred = ndimage.gaussian_filter(grey, _REBLUR_PX)

    def gradient(a: np.ndarray) -> np.ndarray:
        gy, gx = np.gradient(a)
        return np.hypot(gx, gy)

    g, g_r = gradient(grey), gradient(reblurred)
    threshold = np.quantile(g, edge_quantile)
    # Edges: the strongest gradients, and clearly above what the (smoothed) noise makes.
    edges = (g >= threshold) & (g > 0.01 + noise / pre) & (g_r > 0)
    if edges.sum() < 8:
        return float("nan")
    ratio = g[edges] / g_r[edges]
    ratio = ratio[ratio > 1.0 + 1e-6]
    if ratio.size == 0:
        return float("nan")
    total = _REBLUR_PX / np.sqrt(ratio ** 2 - 1.0)
    sigma2 = np.median(total) ** 2 - pre ** 2 - _GRADIENT_BLUR_PX ** 2
    return float(math.sqrt(max(sigma2, 0.0)))


@dataclass
class SensorEstimate(ResultMixin):
    """Per-image measurements and the recipe ranges they suggest."""

    per_image: pd.DataFrame  # noise_std, blur_sigma_px, width, height
    ranges: dict[str, list[float]]
    scale: float  # render size / real size: blur is given in the recipe's pixels

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({k: {"min": v[0], "max": v[1]} for k, v in self.ranges.items()}).T

    def result_title(self) -> str:
        return f"sensor match ({len(self.per_image)} images, blur scaled by {self.scale:.3g})"

    def __str__(self) -> str:
        lines = [f"measured on {len(self.per_image)} real image(s); blur in render pixels "
                 f"(x{self.scale:.3g} of the real images' pixels):"]
        lines += [f"  {name}: [{lo:.4g}, {hi:.4g}]" for name, (lo, hi) in self.ranges.items()]
        return "\n".join(lines)


def match_sensor(images: Iterable[np.ndarray], *, render_size: int | None = None,
                 reference: Iterable[np.ndarray] = (),
                 quantiles: tuple[float, float] = (0.1, 0.9)) -> SensorEstimate:
    """Measure noise and blur on real images; return ``sensor`` randomizer ranges.

    ``render_size`` is the recipe's render width: blur measured in real pixels is scaled to
    render pixels (same field of view assumed). ``reference`` are renders of the recipe with
    the sensor stage off: the blur and noise they already have (anti-aliasing, 8-bit
    quantisation) are taken out in quadrature, so the ranges are what the sensor must add.
    """
    rows = []
    for image in images:
        h, w = np.asarray(image).shape[:2]
        if min(h, w) < MIN_SIDE_PX:
            continue
        rows.append({"noise_std": estimate_noise_std(image),
                     "blur_sigma_px": estimate_blur_sigma(image), "width": w, "height": h})
    if not rows:
        raise GeneratorError(f"no real image of at least {MIN_SIDE_PX}x{MIN_SIDE_PX} px to "
                             "measure the sensor on (tiny images such as 8x8 digits have too "
                             "few pixels; match their format with the recipe's output stage)")
    frame = pd.DataFrame(rows)
    scale = 1.0 if render_size is None else render_size / float(frame["width"].median())
    lo_q, hi_q = quantiles
    noise = frame["noise_std"].quantile([lo_q, hi_q]).tolist()
    blur = (frame["blur_sigma_px"].dropna() * scale)
    blur_range = blur.quantile([lo_q, hi_q]).tolist() if len(blur) else [0.0, 0.0]
    base_noise = base_blur = 0.0
    reference = list(reference)
    if reference:
        base_noise = float(np.median([estimate_noise_std(r) for r in reference]))
        base_blur = float(np.nanmedian([estimate_blur_sigma(r) for r in reference]))

    def added(values: list[float], base: float) -> list[float]:
        return [math.sqrt(max(v * v - base * base, 0.0)) for v in values]

    ranges = {"noise_std": [round(v, 5) for v in added(noise, base_noise)],
              "blur_sigma_px": [round(v, 3) for v in added(blur_range, base_blur)]}
    return SensorEstimate(frame, ranges, scale)




def match_sensor_to_workspace(ws: Any, recipe: Any, *, where: str | None = None,
                              limit: int = 200, reference_n: int = 16) -> SensorEstimate:
    """Measure up to ``limit`` real images of workspace ``ws`` against renders of ``recipe``.

    ``where`` is a pandas query over the rows (e.g. ``"camera == 'cam2'"``) on top of
    ``source == 'real'``.
    """
    import pyarrow.compute as pc

    from curator.images import decode_bytes
    from generators.rows import batch_rows
    from generators.run import render_preview

    images: list[np.ndarray] = []
    for batch in ws.iter_batches(filters=pc.field("source") == "real"):
        for row in batch_rows(batch, where):
            images.append(decode_bytes(ws.image_bytes(row),
                                       where=f"sample {row['sample_id']}").pixels)
            if len(images) >= limit:
                break
        if len(images) >= limit:
            break
    if not images:
        raise GeneratorError("no real samples to measure the sensor on; ingest some first")
    reference = [f.image for f in render_preview(recipe.ablate("sensor"), reference_n)]
    return match_sensor(images, render_size=recipe.size[1], reference=reference)
