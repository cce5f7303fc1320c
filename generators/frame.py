"""A rendered sample as plain arrays: the image and every label map at one resolution.

Renderers produce a :class:`Frame`; the sensor stage, output formatting and augmentation
transform one into another; the row encoder turns it into workspace columns. No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from scipy import ndimage

#: Instance/class mask value for pixels of objects too small to label (an "ignore" region).
IGNORE_ID = 65535
IGNORE_CLASS = 255


@dataclass(frozen=True)
class ObjectLabel:
    """One labelled object: its instance id in the masks and its tight box."""

    instance_id: int
    label: str
    class_index: int  # 1-based index into the recipe's class list; 0 is background
    bbox_xywh: tuple[float, float, float, float]
    area: int  # visible pixels
    visibility: float  # visible pixels / pixels it would cover with nothing in front
    occluded: bool


@dataclass
class Frame:
    """Pixels and labels of one sample; every map has the image's height and width.

    ``image`` is H×W×3 (RGB) or H×W (grey) uint8. ``instance_mask`` is uint16 (0 background,
    ``IGNORE_ID`` for objects flagged too small), ``class_mask`` uint8 (0 background,
    ``IGNORE_CLASS``), ``matte`` float32 0..1 anti-aliased coverage of the labelled objects,
    ``depth`` float32 metres along the optical axis (0: no surface), ``normals`` float32
    H×W×3 camera-frame unit normals (x right, y up, z towards the camera; 0 where no surface).
    """

    image: np.ndarray
    instance_mask: np.ndarray | None = None
    class_mask: np.ndarray | None = None
    matte: np.ndarray | None = None
    depth: np.ndarray | None = None
    normals: np.ndarray | None = None
    objects: list[ObjectLabel] = field(default_factory=list)
    #: Objects dropped from ``objects`` because fewer than ``min_pixels`` stayed visible.
    n_small: int = 0

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    def with_image(self, image: np.ndarray) -> Frame:
        return replace(self, image=image)


Box = tuple[float, float, float, float]


def mask_boxes(instance_mask: np.ndarray) -> dict[int, tuple[Box, int]]:
    """Tight ``(x, y, w, h)`` box and pixel count of every instance id > 0 in the mask."""
    labels = np.where(instance_mask == IGNORE_ID, 0, instance_mask).astype(np.int64)
    counts = np.bincount(labels.ravel())
    out: dict[int, tuple[Box, int]] = {}
    # One pass over the image for all objects (find_objects), not one per object.
    for iid, found in enumerate(ndimage.find_objects(labels), start=1):
        if found is None or counts[iid] == 0:
            continue
        ys, xs = found
        out[iid] = ((float(xs.start), float(ys.start), float(xs.stop - xs.start),
                     float(ys.stop - ys.start)), int(counts[iid]))
    return out


def refresh_objects(frame: Frame, min_pixels: int) -> Frame:
    """Recompute boxes and areas from the instance mask after any pixel change.

    Objects with fewer than ``min_pixels`` visible pixels are never emitted with empty
    masks or zero-area boxes: their pixels become ``IGNORE_ID``/``IGNORE_CLASS`` and they
    are counted in ``n_small``.
    """
    if frame.instance_mask is None:
        return frame
    boxes = mask_boxes(frame.instance_mask)
    kept: list[ObjectLabel] = []
    small: list[int] = []
    for obj in frame.objects:
        box, area = boxes.get(obj.instance_id, ((0.0, 0.0, 0.0, 0.0), 0))
        if area < max(1, min_pixels):
            small.append(obj.instance_id)
            continue
        kept.append(replace(obj, bbox_xywh=box, area=area))
    instance_mask, class_mask = frame.instance_mask, frame.class_mask
    if small:
        hit = np.isin(instance_mask, small)
        if hit.any():
            instance_mask = np.where(hit, np.uint16(IGNORE_ID), instance_mask)
            if class_mask is not None:
                class_mask = np.where(hit, np.uint8(IGNORE_CLASS), class_mask)
    return replace(frame, instance_mask=instance_mask, class_mask=class_mask, objects=kept,
                   n_small=frame.n_small + len(small))
