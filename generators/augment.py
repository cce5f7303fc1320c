"""Label-consistent affine augmentation: one warp applied to the image and every label map.

Owns the affine parameter sampling, the matrix convention, and how normals follow the warp.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from curator.validation import check_scalar
from generators.errors import GeneratorError
from generators.frame import Frame, refresh_objects

#: Default ranges: (min, max) for rotation (degrees, counter-clockwise), scale and shift
#: (fraction of width/height, drawn separately for x and y); ``flip_h`` is a probability.
AUGMENT_DEFAULTS: dict[str, tuple[float, float] | float] = {
    "rotate_deg": (-15.0, 15.0),
    "scale": (0.9, 1.1),
    "shift_frac": (-0.1, 0.1),
    "flip_h": 0.5,
}


@dataclass(frozen=True)
class AffineParams:
    """One affine augmentation: flip, then scale and rotate about the centre, then shift.

    ``rotate_deg`` is counter-clockwise as seen on screen; ``shift_x_frac``/``shift_y_frac``
    move the content right/down by that fraction of the width/height.
    """

    rotate_deg: float
    scale: float
    shift_x_frac: float
    shift_y_frac: float
    flip_h: bool


#: Label maps sampled by nearest with one shared index map (the image and matte: bilinear).
_NEAREST_MAPS = ("instance_mask", "class_mask", "depth", "normals")

IDENTITY = AffineParams(rotate_deg=0.0, scale=1.0, shift_x_frac=0.0, shift_y_frac=0.0,
                        flip_h=False)


def sample_affine(rng: np.random.Generator,
                  ranges: Mapping[str, tuple[float, float] | float] = AUGMENT_DEFAULTS
                  ) -> AffineParams:
    """Draw affine parameters uniformly from the given ranges.

    Parameters
    ----------
    rng : np.random.Generator
        Source of the draws (always five, in a fixed order, so streams stay aligned).
    ranges : Mapping
        Any subset of :data:`AUGMENT_DEFAULTS` (missing keys take the defaults).

    Returns
    -------
    AffineParams
    """
    r = check_augment_ranges(ranges)
    return AffineParams(
        rotate_deg=float(rng.uniform(*r["rotate_deg"])),
        scale=float(rng.uniform(*r["scale"])),
        shift_x_frac=float(rng.uniform(*r["shift_frac"])),
        shift_y_frac=float(rng.uniform(*r["shift_frac"])),
        flip_h=bool(rng.random() < r["flip_h"]),
    )


def check_augment_ranges(ranges: Mapping[str, tuple[float, float] | float]) -> dict:
    """Validate augmentation ranges and fill in the defaults.

    Parameters
    ----------
    ranges : Mapping
        Any subset of :data:`AUGMENT_DEFAULTS`.

    Returns
    -------
    dict
        Every key of :data:`AUGMENT_DEFAULTS`: float pairs and the flip probability.
    """
    unknown = sorted(set(ranges) - set(AUGMENT_DEFAULTS))
    if unknown:
        raise GeneratorError(f"unknown augmentation range {unknown[0]!r}: use any of "
                             f"{', '.join(AUGMENT_DEFAULTS)}")
    out: dict = dict(AUGMENT_DEFAULTS)
    for key, value in ranges.items():
        if key == "flip_h":
            if not _is_number(value) or not 0.0 <= float(value) <= 1.0:
                raise GeneratorError(f"augmentation 'flip_h' = {value!r} must be a "
                                     f"probability in 0..1")
            out[key] = float(value)
            continue
        pair = tuple(value) if isinstance(value, (tuple, list)) else (value,)
        if len(pair) != 2 or not all(_is_number(v) for v in pair):
            raise GeneratorError(f"augmentation {key!r} = {value!r} must be a (min, max) pair "
                                 f"of finite numbers")
        lo, hi = float(pair[0]), float(pair[1])
        if lo > hi:
            raise GeneratorError(f"augmentation {key!r} = {value!r} is an inverted range: "
                                 f"min must be <= max")
        if key == "scale" and lo <= 0:
            raise GeneratorError(f"augmentation 'scale' = {value!r} must stay > 0")
        out[key] = (lo, hi)
    return out


def affine_matrix(params: AffineParams, width: int, height: int) -> np.ndarray:
    """Forward 3 x 3 matrix mapping input pixel coordinates to output pixel coordinates.

    ``[x_out, y_out, 1] = M @ [x_in, y_in, 1]`` in continuous image coordinates: x right,
    y down, pixel (row r, column c) covers [c, c + 1) x [r, r + 1) with its centre at
    (c + 0.5, r + 0.5) (Pillow's convention). M = shift . centre . rotate . scale . flip .
    uncentre: flip and rotation are about the image centre (width / 2, height / 2).

    Parameters
    ----------
    params : AffineParams
        The augmentation.
    width, height : int
        Image size in pixels.

    Returns
    -------
    np.ndarray
        3 x 3 float64.
    """
    if not (math.isfinite(params.scale) and params.scale > 0 and
            math.isfinite(params.rotate_deg)):
        raise GeneratorError(f"affine params need a finite rotation and a scale > 0, "
                             f"got {params!r}")
    theta = math.radians(params.rotate_deg)
    # Exact zeros/ones at multiples of 90 degrees keep such rotations pixel-exact.
    cos, sin = _snap(math.cos(theta)), _snap(math.sin(theta))
    flip = -1.0 if params.flip_h else 1.0
    s = params.scale
    cx, cy = width / 2.0, height / 2.0
    # y points down, so a counter-clockwise turn on screen is [[cos, sin], [-sin, cos]].
    linear = np.array([[cos * s * flip, sin * s], [-sin * s * flip, cos * s]])
    centre = np.array([cx, cy])
    offset = centre + np.array([params.shift_x_frac * width, params.shift_y_frac * height])
    matrix = np.eye(3)
    matrix[:2, :2] = linear
    matrix[:2, 2] = offset - linear @ centre
    return matrix


def augment_frame(frame: Frame, params: AffineParams, *, min_pixels: int = 1,
                  fill: int = 0) -> Frame:
    """Warp a frame's image and every label map with one affine transform.

    Image and matte are sampled bilinearly; instance/class masks, depth and normals by
    nearest (one shared index map, so they stay aligned pixel for pixel). The x/y components
    of the normals are turned by the in-plane rotation and x is negated under a flip (normal
    y points up, image y down). Depth values are not rescaled. Pixels from outside the source
    get ``fill`` in the image and 0 in every label map; boxes and areas are recomputed with
    :func:`generators.frame.refresh_objects`.

    Parameters
    ----------
    frame : Frame
        Input frame (H x W x 3 or H x W image); label maps that are None stay None.
    params : AffineParams
        The augmentation (see :func:`affine_matrix`).
    min_pixels : int
        Objects left with fewer visible pixels are dropped (counted in ``n_small``).
    fill : int
        Image value (0..255) for pixels that come from outside the source.

    Returns
    -------
    Frame
        A new frame of the same size; the input is not modified.
    """
    check_scalar(fill, "augment fill", min_val=0, max_val=255, error=GeneratorError,
                 message="{name} must be an integer in 0..255, got {value!r}")
    height, width = frame.height, frame.width
    matrix = affine_matrix(params, width, height)
    inverse = np.linalg.inv(matrix)
    coeffs = tuple(float(v) for v in inverse[:2].ravel())

    image = frame.image
    image_fill = (int(fill),) * 3 if image.ndim == 3 else int(fill)
    image = _warp_bilinear(image, coeffs, image_fill)
    matte = None if frame.matte is None else _warp_bilinear(
        np.asarray(frame.matte, dtype=np.float32), coeffs, 0.0)

    nearest = {name: getattr(frame, name) for name in _NEAREST_MAPS
               if getattr(frame, name) is not None}
    if nearest:
        source, inside = _nearest_index(inverse, height, width)
        nearest = {name: _take_nearest(values, source, inside)
                   for name, values in nearest.items()}
    if "normals" in nearest:
        nearest["normals"] = _turn_normals(nearest["normals"].astype(np.float32, copy=False),
                                           matrix)
    warped = replace(frame, image=image, matte=matte, **nearest)
    return refresh_objects(warped, min_pixels)


def augment_variants(frame: Frame, n: int, rng: np.random.Generator,
                     ranges: Mapping[str, tuple[float, float] | float] = AUGMENT_DEFAULTS, *,
                     min_pixels: int = 1) -> list[tuple[AffineParams, Frame]]:
    """Draw ``n`` affine augmentations of one frame.

    Parameters
    ----------
    frame : Frame
        Input frame.
    n : int
        Number of variants (>= 0).
    rng : np.random.Generator
        Source of the parameters.
    ranges : Mapping
        Parameter ranges (see :func:`sample_affine`).
    min_pixels : int
        Passed to :func:`augment_frame`.

    Returns
    -------
    list of (AffineParams, Frame)
        The parameters drawn and the warped frame, in draw order.
    """
    check_scalar(n, "n", min_val=0, error=GeneratorError,
                 message="augment_variants needs a count {name} >= 0, got {value!r}")
    check_augment_ranges(ranges)
    out = []
    for _ in range(n):
        params = sample_affine(rng, ranges)
        out.append((params, augment_frame(frame, params, min_pixels=min_pixels)))
    return out


def _is_number(value: object) -> bool:
    return (not isinstance(value, bool) and isinstance(value, (int, float, np.integer,
                                                               np.floating))
            and math.isfinite(float(value)))


def _snap(value: float) -> float:
    nearest = round(value)
    return float(nearest) if abs(value - nearest) < 1e-12 else value


def _warp_bilinear(values: np.ndarray, coeffs: tuple[float, ...],
                   fill: int | float | tuple[int, ...]) -> np.ndarray:
    img = Image.fromarray(values)
    warped = img.transform(img.size, Image.Transform.AFFINE, coeffs,
                           resample=Image.Resampling.BILINEAR, fillcolor=fill)
    return np.array(warped)


def _nearest_index(inverse: np.ndarray, height: int,
                   width: int) -> tuple[np.ndarray, np.ndarray]:
    # Flat index of the source pixel under each output pixel centre (floor, as Pillow's
    # NEAREST does), and whether that pixel lies inside the source.
    ys = (np.arange(height, dtype=np.float64) + 0.5)[:, None]
    xs = (np.arange(width, dtype=np.float64) + 0.5)[None, :]
    src_x = np.floor(inverse[0, 0] * xs + inverse[0, 1] * ys + inverse[0, 2])
    src_y = np.floor(inverse[1, 0] * xs + inverse[1, 1] * ys + inverse[1, 2])
    inside = (src_x >= 0) & (src_x < width) & (src_y >= 0) & (src_y < height)
    cols = np.clip(src_x, 0, width - 1).astype(np.intp)
    rows = np.clip(src_y, 0, height - 1).astype(np.intp)
    return (rows * width + cols).ravel(), inside


def _take_nearest(values: np.ndarray, source: np.ndarray, inside: np.ndarray) -> np.ndarray:
    # Gather by flat source index (much faster than 2-D fancy indexing); 0 outside.
    height, width = inside.shape
    taken = np.take(values.reshape(height * width, *values.shape[2:]), source, axis=0)
    inside = inside.reshape(height, width, *([1] * (values.ndim - 2)))
    return np.where(inside, taken.reshape(values.shape), np.zeros((), dtype=values.dtype))


def _turn_normals(normals: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    # The image-frame linear part, conjugated into the y-up normal frame, scale divided out.
    linear = matrix[:2, :2]
    y_up = np.diag([1.0, -1.0])
    turn = y_up @ linear @ y_up / math.sqrt(abs(np.linalg.det(linear)))
    nx, ny = normals[..., 0], normals[..., 1]
    out = np.empty_like(normals)
    out[..., 0] = np.float32(turn[0, 0]) * nx + np.float32(turn[0, 1]) * ny
    out[..., 1] = np.float32(turn[1, 0]) * nx + np.float32(turn[1, 1]) * ny
    out[..., 2] = normals[..., 2]
    return out
