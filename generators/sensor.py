"""Camera and sensor effects that make a clean render look like a given real camera.

Owns the effect order (exposure, blur, gamma, saturation/gamut, noise, quantise, JPEG).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping

import numpy as np
from PIL import Image
from scipy import ndimage

from generators.errors import GeneratorError

#: Parameter values that leave an image unchanged (the output equals the input exactly).
SENSOR_DEFAULTS: dict[str, float] = {
    "noise_std": 0.0,
    "blur_sigma_px": 0.0,
    "gamma": 1.0,
    "saturation": 1.0,
    "exposure": 1.0,
    "jpeg_quality": 0,
}

#: Chroma subsampling of the JPEG round-trip: 4:2:0, what most cameras and phones write.
JPEG_SUBSAMPLING = 2

_LUMA_601 = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def apply_sensor(image: np.ndarray, params: Mapping[str, float],
                 rng: np.random.Generator) -> np.ndarray:
    """Apply camera effects to an image, in the order a real camera produces them.

    Exposure gain (clipped: blown highlights), gaussian blur, gamma, saturation towards
    ITU-R 601 luma then clip to the [0, 1] gamut, additive gaussian noise, quantise to
    uint8, JPEG round-trip. Effects at their :data:`SENSOR_DEFAULTS` value are skipped,
    so the defaults return an exact copy.

    Parameters
    ----------
    image : np.ndarray
        H x W x 3 (RGB) or H x W (grey) uint8.
    params : Mapping[str, float]
        Any subset of :data:`SENSOR_DEFAULTS`: ``noise_std`` (0..1, in 0..1 units),
        ``blur_sigma_px`` (>= 0), ``gamma`` (> 0; out = in ** (1 / gamma)), ``saturation``
        (0..1; 0 = grey), ``exposure`` (> 0; linear gain), ``jpeg_quality`` (0 = off, 1..95).
    rng : np.random.Generator
        Source of the sensor noise (not used when ``noise_std`` is 0).

    Returns
    -------
    np.ndarray
        uint8, same shape as ``image``.
    """
    p = check_sensor_params(params)
    image = np.asarray(image)
    if image.dtype != np.uint8 or not (image.ndim == 2 or (image.ndim == 3
                                                           and image.shape[2] == 3)):
        raise GeneratorError(f"apply_sensor needs an H x W x 3 or H x W uint8 image, got "
                             f"shape {image.shape} dtype {image.dtype}")
    float_stage = any(p[k] != SENSOR_DEFAULTS[k] for k in
                      ("exposure", "blur_sigma_px", "gamma", "saturation", "noise_std"))
    out = image if float_stage else image.copy()
    if float_stage:
        x = image.astype(np.float32) * np.float32(1 / 255)
        if p["exposure"] != 1.0:
            x *= np.float32(p["exposure"])
            np.clip(x, 0.0, 1.0, out=x)
        if p["blur_sigma_px"] > 0:
            sigma = (p["blur_sigma_px"],) * 2 + ((0.0,) if x.ndim == 3 else ())
            x = ndimage.gaussian_filter(x, sigma=sigma, mode="reflect")
        if p["gamma"] != 1.0:
            np.power(x, np.float32(1.0 / p["gamma"]), out=x)
        if p["saturation"] != 1.0 and x.ndim == 3:
            luma = x @ _LUMA_601
            x = luma[..., None] + np.float32(p["saturation"]) * (x - luma[..., None])
        if p["noise_std"] > 0:
            x += np.float32(p["noise_std"]) * rng.standard_normal(x.shape, dtype=np.float32)
        np.clip(x, 0.0, 1.0, out=x)
        out = np.rint(x * np.float32(255)).astype(np.uint8)
    if p["jpeg_quality"] > 0:
        out = _jpeg_round_trip(out, int(p["jpeg_quality"]))
    return out


def check_sensor_params(params: Mapping[str, float]) -> dict[str, float]:
    """Validate sensor parameters and fill in the defaults.

    Parameters
    ----------
    params : Mapping[str, float]
        Any subset of :data:`SENSOR_DEFAULTS`.

    Returns
    -------
    dict[str, float]
        Every key of :data:`SENSOR_DEFAULTS`, with ``jpeg_quality`` as an int.
    """
    unknown = sorted(set(params) - set(SENSOR_DEFAULTS))
    if unknown:
        raise GeneratorError(f"unknown sensor param {unknown[0]!r} = {params[unknown[0]]!r}: "
                             f"use any of "
                             f"{', '.join(SENSOR_DEFAULTS)}")
    out = dict(SENSOR_DEFAULTS)
    for key, value in params.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                             np.floating)):
            raise GeneratorError(f"sensor param {key!r} must be a number, got {value!r}")
        v = float(value)
        rule = _RULES[key]
        if not (math.isfinite(v) and rule[0](v)):
            raise GeneratorError(f"sensor param {key!r} = {value!r} is out of range: "
                                 f"must be {rule[1]}")
        out[key] = int(v) if key == "jpeg_quality" else v
    return out


_RULES = {
    "noise_std": (lambda v: 0.0 <= v <= 1.0, "in 0..1 (std in 0..1 intensity units)"),
    "blur_sigma_px": (lambda v: v >= 0.0, ">= 0 pixels (0 = no blur)"),
    "gamma": (lambda v: v > 0.0, "> 0 (1 = unchanged)"),
    "saturation": (lambda v: 0.0 <= v <= 1.0, "in 0..1 (0 = grey, 1 = unchanged)"),
    "exposure": (lambda v: v > 0.0, "> 0 (1 = unchanged, > 1 blows highlights)"),
    "jpeg_quality": (lambda v: v == int(v) and 0 <= v <= 95, "an integer in 0..95 (0 = no JPEG)"),
}


def _jpeg_round_trip(image: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    # optimize=False keeps the encoder deterministic; subsampling is fixed, not Pillow's guess.
    Image.fromarray(image).save(buf, format="JPEG", quality=quality,
                                subsampling=JPEG_SUBSAMPLING, optimize=False)
    buf.seek(0)
    with Image.open(buf) as decoded:
        return np.array(decoded.convert("L" if image.ndim == 2 else "RGB"))
