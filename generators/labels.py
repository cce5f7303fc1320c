"""From raw render buffers to a labelled :class:`~generators.frame.Frame` (pure numpy).

Composites the background, decodes normals and the matte, and derives instance and class
masks, tight boxes and visibility fractions; tiny objects are flagged, never emitted empty.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from generators.frame import Frame, ObjectLabel, refresh_objects
from generators.render import RenderBuffers
from generators.scene import Background, SceneSpec
from generators.textures import make_texture


def background_image(bg: Background, height: int, width: int,
                     pool: Sequence[np.ndarray] = ()) -> np.ndarray:
    """The H×W×3 float32 (0..1) background a scene is composited over."""
    c0, c1 = (np.asarray(c, np.float32) for c in bg.colors[:2])
    if bg.kind == "flat":
        return np.broadcast_to(c0, (height, width, 3)).astype(np.float32)
    if bg.kind == "gradient":
        angle = np.random.default_rng(bg.seed).uniform(0, 2 * np.pi)
        xs = np.float32(np.cos(angle)) * np.linspace(0, 1, width, dtype=np.float32)
        ys = np.float32(np.sin(angle)) * np.linspace(0, 1, height, dtype=np.float32)
        t = ys[:, None] + xs[None, :]  # broadcast: no full coordinate grids
        t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
        return c0 + (c1 - c0) * t[..., None]
    if bg.kind == "texture":
        size = max(height, width)
        colors = np.round(np.stack([c0, c1]) * 255)
        tex = make_texture(bg.texture or "noise", size, np.random.default_rng(bg.seed), colors)
        return tex[:height, :width].astype(np.float32) / 255.0
    if bg.kind == "workspace":
        image = pool[bg.image_index]
        if image.shape[:2] != (height, width):
            from PIL import Image

            image = np.asarray(Image.fromarray(image).resize((width, height), Image.BILINEAR))
        return image.astype(np.float32) / 255.0
    raise ValueError(f"unknown background kind {bg.kind!r}")


def decode_normals(encoded: np.ndarray, surface: np.ndarray) -> np.ndarray:
    """Encoded RGB normals → float32 unit vectors (0 where there is no surface)."""
    n = encoded[..., :3].astype(np.float32) * np.float32(1 / 127.5) - np.float32(1.0)
    length2 = np.einsum("...i,...i->...", n, n)
    ok = surface & (length2 > 1e-6)
    scale = np.zeros_like(length2)
    scale[ok] = 1.0 / np.sqrt(length2[ok])
    return n * scale[..., None]


def frame_from_buffers(spec: SceneSpec, buffers: RenderBuffers, *, min_pixels: int,
                       occluded_below: float = 0.99,
                       background_pool: Sequence[np.ndarray] = ()) -> Frame:
    """Composite, decode and label one render."""
    h, w = spec.height, spec.width
    rgba = buffers.color.astype(np.float32) / 255.0
    bg = background_image(spec.background, h, w, background_pool)
    rgb = rgba[..., :3] + (1.0 - rgba[..., 3:4]) * bg  # colour is premultiplied by coverage
    image = np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)
    surface = buffers.depth > 0
    normals = decode_normals(buffers.normals, surface)
    matte = buffers.normals[..., 3].astype(np.float32) / 255.0
    ids = buffers.ids
    targets = spec.targets
    lut = np.zeros(max([t.instance_id for t in targets] + [0]) + 1, np.uint8)
    for t in targets:
        lut[t.instance_id] = t.class_index
    class_mask = lut[np.minimum(ids, len(lut) - 1)]
    objects = []
    counts = np.bincount(ids.ravel(), minlength=len(lut))  # visible pixels of every id
    for t in targets:
        visible = int(counts[t.instance_id])
        unoccluded = max(buffers.amodal_area.get(t.instance_id, visible), visible)
        visibility = visible / unoccluded if unoccluded else 0.0
        objects.append(ObjectLabel(t.instance_id, t.label or "", t.class_index,
                                   (0.0, 0.0, 0.0, 0.0), visible, float(visibility),
                                   bool(visibility < occluded_below)))
    frame = Frame(image=image, instance_mask=ids.astype(np.uint16), class_mask=class_mask,
                  matte=matte, depth=np.where(surface, buffers.depth, 0).astype(np.float32),
                  normals=normals, objects=objects)
    return refresh_objects(frame, min_pixels)
