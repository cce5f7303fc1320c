"""Procedural textures for backgrounds and distractor paint (checker, stripes, noise, ...).

Each texture is a pure function of its kind, size, colours and a seeded ``np.random.Generator``.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from curator.validation import check_scalar
from generators.errors import GeneratorError

TEXTURE_KINDS: tuple[str, ...] = ("checker", "stripes", "noise", "dots", "gradient")

# Value-noise octaves: the coarsest grid has this many cells per side, each octave doubles it.
_NOISE_BASE_CELLS = 2
_NOISE_OCTAVES = 4
_NOISE_PERSISTENCE = 0.5


def make_texture(kind: str, size: int, rng: np.random.Generator,
                 colors: np.ndarray | None = None) -> np.ndarray:
    """Draw a ``size`` x ``size`` RGB texture of the given kind.

    Parameters
    ----------
    kind : str
        One of :data:`TEXTURE_KINDS`.
    size : int
        Side in pixels (>= 1).
    rng : np.random.Generator
        Source of every random choice (pattern scale, angle, phase, noise values).
    colors : np.ndarray, optional
        2 x 3 RGB colours in 0..255 (first: background/low end, second: pattern/high end).
        Random from ``rng`` when None. Two colours are always drawn first, so the same seed
        gives the same geometry whether or not ``colors`` is passed.

    Returns
    -------
    np.ndarray
        ``size`` x ``size`` x 3 uint8.
    """
    if kind not in _MAKERS:
        raise GeneratorError(f"unknown texture kind {kind!r}: use one of "
                             f"{', '.join(TEXTURE_KINDS)}")
    check_scalar(size, "texture size", min_val=1, error=GeneratorError,
                 message="{name} must be a positive pixel count, got {value!r}")
    drawn = rng.integers(0, 256, size=(2, 3))
    palette = drawn.astype(np.float32) if colors is None else _check_colors(colors)
    weight = _MAKERS[kind](int(size), rng)
    if weight.dtype == bool:  # hard pattern: pick one of the two colours
        return np.rint(palette).astype(np.uint8)[weight.view(np.uint8)]
    out = palette[0] + weight[..., None] * (palette[1] - palette[0])
    return np.rint(out).astype(np.uint8)


def _check_colors(colors: np.ndarray) -> np.ndarray:
    arr = np.asarray(colors, dtype=np.float32)
    if arr.shape != (2, 3) or not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 255:
        raise GeneratorError(f"texture colors must be a 2x3 array of RGB values in 0..255, "
                             f"got shape {arr.shape} with values {np.asarray(colors).tolist()!r}")
    return arr


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    # Pixel-centre coordinates, broadcastable (column vector of y, row vector of x).
    coords = np.arange(size, dtype=np.float32) + 0.5
    return coords[:, None], coords[None, :]


def _checker(size: int, rng: np.random.Generator) -> np.ndarray:
    cell = size / rng.integers(2, 9)
    off_y, off_x = rng.uniform(0.0, cell, size=2)
    y, x = _grid(size)
    row_parity = np.floor((y + off_y) / cell).astype(np.int32) & 1
    col_parity = np.floor((x + off_x) / cell).astype(np.int32) & 1
    return (row_parity ^ col_parity).astype(bool)


def _stripes(size: int, rng: np.random.Generator) -> np.ndarray:
    period = size / rng.uniform(2.0, 10.0)
    angle = rng.uniform(0.0, np.pi)
    phase = rng.uniform(0.0, 1.0)
    y, x = _grid(size)
    along = (x * np.float32(np.cos(angle)) + y * np.float32(np.sin(angle))) / period + phase
    # Integer half-periods: even ones are stripes (cheaper than a float modulo).
    return (np.floor(2 * along).astype(np.int32) & 1) == 0


def _noise(size: int, rng: np.random.Generator) -> np.ndarray:
    total = np.zeros((size, size), dtype=np.float32)
    amplitude, norm = 1.0, 0.0
    for octave in range(_NOISE_OCTAVES):
        cells = _NOISE_BASE_CELLS * 2 ** octave
        grid = rng.random((cells + 1, cells + 1), dtype=np.float32)
        # Bilinear upsampling of the lattice gives smooth value noise (Pillow: fast, C).
        layer = np.asarray(Image.fromarray(grid).resize((size, size),
                                                                  Image.Resampling.BILINEAR))
        total += amplitude * layer
        norm += amplitude
        amplitude *= _NOISE_PERSISTENCE
    return total / np.float32(norm)


def _dots(size: int, rng: np.random.Generator) -> np.ndarray:
    spacing = size / rng.integers(3, 10)
    radius = spacing * rng.uniform(0.15, 0.45)
    off_y, off_x = rng.uniform(0.0, spacing, size=2)
    y, x = _grid(size)
    dy = (y + off_y) % spacing - spacing / 2
    dx = (x + off_x) % spacing - spacing / 2
    return dx * dx + dy * dy < radius * radius


def _gradient(size: int, rng: np.random.Generator) -> np.ndarray:
    angle = rng.uniform(0.0, 2 * np.pi)
    y, x = _grid(size)
    along = x * np.float32(np.cos(angle)) + y * np.float32(np.sin(angle))
    lo, hi = float(along.min()), float(along.max())
    if hi - lo <= 0:  # a 1-pixel texture has no direction to run along
        return np.zeros((size, size), dtype=np.float32)
    return (along - np.float32(lo)) / np.float32(hi - lo)


_MAKERS = {"checker": _checker, "stripes": _stripes, "noise": _noise, "dots": _dots,
           "gradient": _gradient}
