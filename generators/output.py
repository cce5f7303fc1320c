"""Output formatting of a rendered frame: resize every map consistently, grey, invert, levels.

Deterministic (no randomness); labels follow the pixels, so boxes are recomputed at the end.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PIL import Image

from curator.images import DIGITS_LEVELS, digits_to_uint8
from curator.validation import check_scalar
from generators.errors import GeneratorError
from generators.frame import Frame, refresh_objects

_LUMA_601 = np.array([0.299, 0.587, 0.114])


def format_frame(frame: Frame, *, size: int | tuple[int, int] | None = None,
                 grayscale: bool = False, levels: int | None = None, invert: bool = False,
                 min_pixels: int = 1) -> Frame:
    """Resize a frame and all its label maps, then convert its pixels for the target domain.

    Resizing: image and matte by area averaging; instance and class masks by majority vote
    over the source pixels of each output pixel when every output pixel covers a whole
    block of source pixels (integer downsampling factors), by nearest (centre sample)
    otherwise; the two masks vote jointly on (instance, class) pairs so they stay aligned,
    and ties go to the smaller pair (background first). Depth by nearest (centre sample),
    so depth is never averaged across an edge; normals by area averaging then
    renormalising (0 where no surface). Then ``grayscale`` (ITU-R 601 luma), ``invert``,
    ``levels``, and boxes/areas are recomputed with :func:`generators.frame.refresh_objects`.

    Parameters
    ----------
    frame : Frame
        Input frame; label maps that are None stay None.
    size : int or (int, int), optional
        Output size: an int for square, or ``(height, width)``. None keeps the size.
    grayscale : bool
        Convert the image to H x W luma (0.299 R + 0.587 G + 0.114 B, rounded).
    levels : int, optional
        Quantise pixel values to this many evenly spaced levels over 0..255 (2..256):
        level k is ``round(k * 255 / (levels - 1))``, so 17 levels give the scikit-learn
        digits' values (:func:`curator.images.digits_to_uint8`).
    invert : bool
        Replace every value v by 255 - v (before ``levels``).
    min_pixels : int
        Objects with fewer visible pixels after resizing are dropped (counted in
        ``n_small``).

    Returns
    -------
    Frame
        A new frame; the input is not modified.
    """
    height, width = _target_size(size, frame.height, frame.width)
    check_scalar(levels, "output levels", min_val=2, max_val=256, error=GeneratorError,
                 allow_none=True, message="{name} must be an integer in 2..256, got {value!r}")
    out = frame
    if (height, width) != (frame.height, frame.width):
        out = resize_frame(frame, height, width)
    image = out.image
    if grayscale and image.ndim == 3:
        image = np.rint(image @ _LUMA_601).astype(np.uint8)
    if invert:
        image = 255 - image
    if levels is not None:
        image = levels_table(int(levels))[image]
    if image is not out.image:
        out = replace(out, image=image)
    return refresh_objects(out, min_pixels)


def resize_frame(frame: Frame, height: int, width: int) -> Frame:
    """Resize the image and every label map of a frame to ``height`` x ``width``.

    Same rules as :func:`format_frame`; objects are not refreshed here.

    Parameters
    ----------
    frame : Frame
        Input frame.
    height, width : int
        Output size in pixels.

    Returns
    -------
    Frame
        A new frame with resized maps and the input's objects.
    """
    src_h, src_w = frame.height, frame.width
    rows = _centre_samples(src_h, height)
    cols = _centre_samples(src_w, width)
    blocks = src_h % height == 0 and src_w % width == 0
    instance_mask, class_mask = frame.instance_mask, frame.class_mask
    if instance_mask is not None or class_mask is not None:
        if blocks:
            instance_mask, class_mask = _vote_masks(instance_mask, class_mask, height, width)
        else:
            instance_mask = None if instance_mask is None else instance_mask[rows][:, cols]
            class_mask = None if class_mask is None else class_mask[rows][:, cols]
    normals = frame.normals
    if normals is not None:
        normals = _area_resize(np.asarray(normals, dtype=np.float32), height, width)
        norm = np.linalg.norm(normals, axis=-1, keepdims=True)
        surface = norm > 1e-6
        normals = np.where(surface, normals / np.where(surface, norm, 1), 0).astype(np.float32)
    return replace(
        frame,
        image=_resize_image(frame.image, height, width),
        instance_mask=instance_mask,
        class_mask=class_mask,
        matte=None if frame.matte is None else _area_resize(
            np.asarray(frame.matte, dtype=np.float32), height, width),
        depth=None if frame.depth is None else frame.depth[rows][:, cols],
        normals=normals,
    )


def levels_table(levels: int) -> np.ndarray:
    """Lookup table mapping every uint8 value to the nearest of ``levels`` even levels.

    Parameters
    ----------
    levels : int
        Number of levels over 0..255 (2..256).

    Returns
    -------
    np.ndarray
        256 uint8 values; its distinct values are ``round(k * 255 / (levels - 1))``,
        k = 0..levels-1 (numpy rounding, half to even).
    """
    if levels == DIGITS_LEVELS + 1:
        # The real digits' own scaling, so synthetic 17-level images match them by construction.
        values = digits_to_uint8(np.arange(levels)).astype(np.int16)
    else:
        values = np.round(np.arange(levels) * 255 / (levels - 1)).astype(np.int16)
    nearest = np.abs(np.arange(256, dtype=np.int16)[:, None] - values[None, :]).argmin(axis=1)
    return values[nearest].astype(np.uint8)


def _target_size(size: int | tuple[int, int] | None, height: int,
                 width: int) -> tuple[int, int]:
    if size is None:
        return height, width
    if isinstance(size, (int, np.integer)):
        pair: tuple = (size, size)
    elif isinstance(size, (tuple, list)):
        pair = tuple(size)
    else:
        pair = ()
    try:
        height, width = (check_scalar(s, "output size", min_val=1, error=GeneratorError)
                         for s in pair)
    except (GeneratorError, ValueError):  # not two whole pixel counts
        raise GeneratorError(f"output size must be a positive int or (height, width), "
                             f"got {size!r}") from None
    return height, width


def _centre_samples(src: int, dst: int) -> np.ndarray:
    # Source index under the centre of each output pixel.
    return np.minimum(((np.arange(dst) + 0.5) * (src / dst)).astype(np.intp), src - 1)


def _resize_image(image: np.ndarray, height: int, width: int) -> np.ndarray:
    img = Image.fromarray(image)
    src_h, src_w = image.shape[:2]
    if src_h % height == 0 and src_w % width == 0:
        img = img.reduce((src_w // width, src_h // height))
    else:
        img = img.resize((width, height), Image.Resampling.BOX)
    return np.array(img)


def _area_resize(values: np.ndarray, height: int, width: int) -> np.ndarray:
    # Float maps, per channel (2-D reductions are several times faster than one 3-D one):
    # exact block means when the factors are integers, Pillow BOX otherwise.
    src_h, src_w = values.shape[:2]
    if values.ndim == 3:
        return np.stack([_area_resize(values[..., c], height, width)
                         for c in range(values.shape[2])], axis=-1)
    if src_h % height == 0 and src_w % width == 0:
        blocks = values.reshape(height, src_h // height, width, src_w // width)
        return blocks.mean(axis=(1, 3), dtype=np.float64).astype(np.float32)
    img = Image.fromarray(np.ascontiguousarray(values))
    return np.array(img.resize((width, height), Image.Resampling.BOX))


def _vote_masks(instance_mask: np.ndarray | None, class_mask: np.ndarray | None,
                height: int, width: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    # Majority vote per block on the (instance, class) pair: compact the pairs to 0..K-1,
    # count them per block with one bincount, take the first (smallest) most frequent.
    ref = instance_mask if instance_mask is not None else class_mask
    src_h, src_w = ref.shape
    fh, fw = src_h // height, src_w // width
    inst_codes, inst_ids = _compact(instance_mask)
    cls_codes, cls_ids = _compact(class_mask)
    pair_codes = inst_codes * len(cls_ids) + cls_codes
    n = len(inst_ids) * len(cls_ids)
    pairs = np.arange(n)
    if height * width * n > pair_codes.size:  # many ids: count only the pairs that occur
        pair_codes, pairs = _compact(pair_codes)
        n = len(pairs)
    block = (np.arange(src_h) // fh * (width * n))[:, None] + (np.arange(src_w) // fw * n)[None, :]
    counts = np.bincount((block + pair_codes).ravel(), minlength=height * width * n)
    winner = pairs[counts.reshape(height, width, n).argmax(axis=2)]
    inst = None if instance_mask is None else inst_ids[winner // len(cls_ids)]
    cls = None if class_mask is None else cls_ids[winner % len(cls_ids)]
    return inst, cls


def _compact(values: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    # Codes 0..K-1 of small non-negative ints (ordered like the values) and the K values.
    if values is None:
        return np.zeros((), dtype=np.intp), np.zeros(1, dtype=np.intp)
    present = np.flatnonzero(np.bincount(values.ravel()))
    lookup = np.zeros(int(present[-1]) + 1, dtype=np.intp)
    lookup[present] = np.arange(len(present))
    return lookup[values], present.astype(values.dtype)
