"""Contact sheets: a grid of samples with their label maps, for looking at a recipe quickly.

Each row is one sample: image, instance mask, class mask, matte, depth and normals, scaled
up with nearest neighbour so 8x8 digits stay readable. Pure numpy; saving is the caller's.
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence

import numpy as np

from generators.frame import IGNORE_ID, Frame
from generators.render import encode_normals

PANELS = ("image", "instance", "class", "matte", "depth", "normals")
_GAP = 2


def _palette(n: int) -> np.ndarray:
    """A fixed, well-spread colour per id (golden-ratio hues); id 0 is black."""
    rgb = [colorsys.hsv_to_rgb((k * 0.618033988749895) % 1.0, 0.75, 0.95) for k in range(n)]
    out = np.round(np.asarray(rgb).reshape(n, 3) * 255).astype(np.uint8)
    out[0] = 0
    return out


def _ids_rgb(ids: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    if ids is None:
        return np.zeros((*shape, 3), np.uint8)
    ids = ids.astype(np.int64)
    colours = _palette(int(ids[ids != IGNORE_ID].max(initial=0)) + 1)
    out = colours[np.where(ids == IGNORE_ID, 0, ids)]
    out[ids == IGNORE_ID] = 128  # ignore regions in grey
    return out


def panel(frame: Frame, name: str) -> np.ndarray:
    """One H×W×3 uint8 picture of ``frame``'s image or one of its label maps."""
    h, w = frame.height, frame.width
    if name == "image":
        img = frame.image
        return np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img[..., :3]
    if name == "instance":
        return _ids_rgb(frame.instance_mask, (h, w))
    if name == "class":
        mask = None if frame.class_mask is None else np.where(
            frame.class_mask == 255, IGNORE_ID, frame.class_mask)
        return _ids_rgb(mask, (h, w))
    if name == "matte":
        matte = np.zeros((h, w)) if frame.matte is None else frame.matte
        return np.repeat(np.round(matte * 255).astype(np.uint8)[..., None], 3, axis=2)
    if name == "depth":
        depth = np.zeros((h, w)) if frame.depth is None else frame.depth
        out = np.zeros((h, w), np.uint8)
        hit = depth > 0
        if hit.any():  # near is bright
            lo, hi = depth[hit].min(), depth[hit].max()
            out[hit] = np.round(255 - 200 * (depth[hit] - lo) / max(hi - lo, 1e-6)).astype(
                np.uint8)
        return np.repeat(out[..., None], 3, axis=2)
    if name == "normals":
        if frame.normals is None:
            return np.zeros((h, w, 3), np.uint8)
        return encode_normals(frame.normals)
    raise ValueError(f"unknown panel {name!r}; choose from {', '.join(PANELS)}")


def contact_sheet(frames: Sequence[Frame], panels: Sequence[str] = PANELS,
                  min_side_px: int = 96) -> np.ndarray:
    """A grid: one row per frame, one column per panel (uint8 RGB)."""
    if not frames:
        raise ValueError("no frames to show")
    h, w = frames[0].height, frames[0].width
    scale = max(1, int(np.ceil(min_side_px / max(min(h, w), 1))))
    cell_h, cell_w = h * scale, w * scale
    sheet = np.full((len(frames) * (cell_h + _GAP) - _GAP,
                     len(panels) * (cell_w + _GAP) - _GAP, 3), 255, np.uint8)
    for r, frame in enumerate(frames):
        for c, name in enumerate(panels):
            pic = panel(frame, name)
            pic = np.repeat(np.repeat(pic, scale, axis=0), scale, axis=1)[:cell_h, :cell_w]
            y, x = r * (cell_h + _GAP), c * (cell_w + _GAP)
            sheet[y:y + pic.shape[0], x:x + pic.shape[1]] = pic
    return sheet
