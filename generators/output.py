"""Output formatting of a rendered frame: resize every map consistently, grey, invert, levels,
or a real dataset's preprocessing chain (scikit-learn digits, MNIST).

Deterministic (no randomness); labels follow the pixels, so boxes are recomputed at the end.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from curator.images import DIGITS_LEVELS, digits_to_uint8
from curator.validation import check_scalar
from generators.errors import GeneratorError
from generators.frame import Frame, refresh_objects

_LUMA_601 = np.array([0.299, 0.587, 0.114])


@dataclass(frozen=True)
class OutputChain:
    """A real dataset's preprocessing, as its documentation describes it.

    The glyph (the ink, see :func:`ink_mask`) is cropped to its bounding box, scaled keeping
    its aspect ratio until its longer side is ``box_px``, and placed in a ``field_px``
    square: centred by its box (``centre="box"``) or by its centre of mass
    (``centre="mass"``). Then ``finish="blocks"`` binarises the coverage and counts the ON
    pixels of each block (the field divided into ``size`` x ``size`` blocks);
    ``finish="grey"`` keeps the coverage as grey. The chain fixes ``size`` and ``levels``.
    """

    name: str
    box_px: int
    field_px: int
    centre: str
    finish: str
    size: int
    levels: int


#: The chains a recipe's ``output.chain`` may name.
OUTPUT_CHAINS = {
    # UCI optdigits (scikit-learn's load_digits): NIST-normalised 32x32 bitmaps, ON pixels
    # counted in non-overlapping 4x4 blocks, 0..16.
    "sklearn_digits": OutputChain("sklearn_digits", 32, 32, "box", "blocks", 8,
                                   DIGITS_LEVELS + 1),
    # MNIST: fitted into 20x20 keeping aspect, anti-aliased, centre of mass at the centre of
    # 28x28, 256 grey levels.
    "mnist": OutputChain("mnist", 20, 28, "mass", "grey", 28, 256),
}


def format_frame(frame: Frame, *, size: int | tuple[int, int] | None = None,
                 grayscale: bool = False, levels: int | None = None, invert: bool = False,
                 chain: str | None = None, min_pixels: int = 1) -> Frame:
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
        Replace every value v by 255 - v (before ``levels``, or before a chain finds the ink).
    chain : str, optional
        A real dataset's preprocessing, a key of :data:`OUTPUT_CHAINS`, instead of the plain
        resize: see :func:`apply_chain`. It fixes the size and levels (``size`` and
        ``levels`` may only repeat them) and implies ``grayscale``.
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
    if chain is not None:
        spec = check_chain(chain, size=size, levels=levels, error=GeneratorError)
        return refresh_objects(apply_chain(frame, spec, invert=invert), min_pixels)
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


def check_chain(chain: object, *, size: int | tuple[int, int] | None = None,
                levels: int | None = None, where: str = "output",
                error: type[GeneratorError] = GeneratorError) -> OutputChain:
    """The :class:`OutputChain` named ``chain``, checked against the size and levels asked.

    Parameters
    ----------
    chain : str
        A key of :data:`OUTPUT_CHAINS`.
    size, levels : optional
        The output size and levels also asked for; they may only repeat the chain's own.
    where : str
        Where the option was read, for the message (``output`` gives ``output.chain``).
    error : type
        The exception raised (:class:`GeneratorError`, or :class:`RecipeError` for recipes).

    Returns
    -------
    OutputChain
    """
    allowed = ", ".join(sorted(OUTPUT_CHAINS))
    if not isinstance(chain, str) or chain not in OUTPUT_CHAINS:
        close = difflib.get_close_matches(str(chain), list(OUTPUT_CHAINS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise error(f"{where}.chain: unknown output chain {chain!r}{hint}; allowed: {allowed} "
                    "(or leave it out for a plain resize)")
    spec = OUTPUT_CHAINS[chain]
    if size is not None and _target_size(size, 0, 0) != (spec.size, spec.size):
        raise error(f"{where}.size {size!r} conflicts with chain {chain!r}, whose output is "
                    f"{spec.size}x{spec.size}: leave size out or set it to {spec.size}")
    if levels is not None and levels != spec.levels:
        raise error(f"{where}.levels {levels!r} conflicts with chain {chain!r}, which gives "
                    f"{spec.levels} levels: leave levels out or set it to {spec.levels}")
    return spec


def apply_chain(frame: Frame, chain: OutputChain, *, invert: bool = False) -> Frame:
    """Put a frame through a real dataset's preprocessing; every label map follows.

    The image becomes grey (ITU-R 601 luma), inverted if asked, and the ink is its bright
    side (:func:`ink_mask`). The ink's bounding box is cropped from the image and every
    label map, scaled keeping its aspect ratio until its longer side is ``chain.box_px``
    (label maps by the rules of :func:`resize_frame`; the ink as its area coverage, so
    edges are anti-aliased) and placed in a ``chain.field_px`` square (outside: 0, i.e.
    background, no depth, no normal):

    - ``box``: the box centred (odd margins put the extra pixel below/right);
    - ``mass``: shifted by whole pixels so the ink's centre of mass lands within half a
      pixel of the field centre (``field_px / 2 - 0.5`` in pixel indices; MNIST).

    Then ``blocks`` (``sklearn_digits``) binarises the coverage at 0.5 and counts the ON
    pixels of each block (32x32 in 4x4 blocks: 0..16, stored as
    :func:`curator.images.digits_to_uint8` like the real digits); the label maps go to the
    output size by the block rules of :func:`resize_frame` (masks by majority vote).
    ``grey`` (``mnist``) keeps the coverage as 0..255. A frame without ink is fitted whole
    and comes out blank.

    Parameters
    ----------
    frame : Frame
        Input frame (RGB or grey).
    chain : OutputChain
        One of :data:`OUTPUT_CHAINS`.
    invert : bool
        Invert the grey image first (dark ink on a light background).

    Returns
    -------
    Frame
        A new frame of ``chain.size`` squared pixels; objects are not refreshed here.
    """
    grey = frame.image
    if grey.ndim == 3:
        grey = np.rint(grey @ _LUMA_601).astype(np.uint8)
    if invert:
        grey = 255 - grey
    ink = ink_mask(grey)
    rows, cols = _ink_box(ink)
    crop_h, crop_w = rows.stop - rows.start, cols.stop - cols.start
    scale = chain.box_px / max(crop_h, crop_w)
    fit_h, fit_w = max(1, round(crop_h * scale)), max(1, round(crop_w * scale))
    fitted = resize_frame(_crop_frame(replace(frame, image=grey), rows, cols), fit_h, fit_w)
    # Exact area coverage (Pillow's BOX only averages whole pixels: quarter levels at 37 -> 20).
    coverage = (_area_weights(crop_h, fit_h) @ ink[rows, cols]
                @ _area_weights(crop_w, fit_w).T)
    field = chain.field_px
    if chain.centre == "mass" and coverage.sum() > 0:
        # floor(c0 + 0.5 - c): the centre of mass ends in (c0 - 0.5, c0 + 0.5], c0 = field/2 - 0.5.
        com = np.array([(coverage.sum(axis=1) @ np.arange(fit_h)),
                        (coverage.sum(axis=0) @ np.arange(fit_w))]) / coverage.sum()
        top, left = (int(v) for v in np.floor(field / 2 - com))
    else:
        top, left = (field - fit_h) // 2, (field - fit_w) // 2
    placed = _paste_frame(replace(fitted, image=coverage), field, top, left)
    if chain.finish == "grey":
        return replace(placed, image=np.rint(placed.image * 255).astype(np.uint8))
    bitmap = (placed.image >= 0.5).astype(np.uint8)
    blocks = field // chain.size
    counts = bitmap.reshape(chain.size, blocks, chain.size, blocks).sum(axis=(1, 3))
    small = resize_frame(replace(placed, image=bitmap), chain.size, chain.size)
    return replace(small, image=digits_to_uint8(counts))


def ink_mask(grey: np.ndarray) -> np.ndarray:
    """The ink of a grey image: pixels brighter than its Otsu threshold.

    Otsu's threshold adapts to each render's light and background, where a fixed level
    would lose a dimly lit glyph. A constant image has no ink.

    Parameters
    ----------
    grey : np.ndarray
        H x W uint8.

    Returns
    -------
    np.ndarray
        H x W bool.
    """
    threshold = otsu_threshold(grey)
    if threshold is None:
        return np.zeros(grey.shape, dtype=bool)
    return grey > threshold


def otsu_threshold(grey: np.ndarray) -> int | None:
    """Otsu's threshold of a uint8 image: the t maximising the between-class variance of
    ``<= t`` and ``> t`` (the first such t); None if the image has one value only.

    Parameters
    ----------
    grey : np.ndarray
        uint8 values.

    Returns
    -------
    int or None
    """
    counts = np.bincount(np.asarray(grey, dtype=np.uint8).ravel(), minlength=256)
    counts = counts.astype(np.float64)
    n, total_mass = counts.sum(), counts @ np.arange(256)
    below = np.cumsum(counts)[:-1]  # pixels <= t, for t = 0..254
    mass = np.cumsum(counts * np.arange(256))[:-1]
    valid = (below > 0) & (below < n)
    if not valid.any():
        return None
    # N^2 times the between-class variance w0 w1 (m0 - m1)^2, without dividing by zero.
    spread = np.where(valid, (total_mass * below - mass * n) ** 2
                      / np.where(valid, below * (n - below), 1), -1.0)
    return int(np.argmax(spread))


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


def _area_weights(src: int, dst: int) -> np.ndarray:
    # dst x src: the share of output pixel i's interval [i, i + 1) * src / dst that source
    # pixel j covers; each row sums to 1.
    edges = np.arange(dst + 1) * (src / dst)
    starts = np.maximum(edges[:-1, None], np.arange(src)[None, :])
    stops = np.minimum(edges[1:, None], np.arange(1, src + 1)[None, :])
    return np.clip(stops - starts, 0, None) * (dst / src)


def _ink_box(ink: np.ndarray) -> tuple[slice, slice]:
    # Rows and columns of the ink's bounding box; the whole image if there is no ink.
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return slice(0, ink.shape[0]), slice(0, ink.shape[1])
    return slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)


_MAPS = ("image", "instance_mask", "class_mask", "matte", "depth", "normals")


def _crop_frame(frame: Frame, rows: slice, cols: slice) -> Frame:
    return replace(frame, **{name: getattr(frame, name)[rows, cols] for name in _MAPS
                             if getattr(frame, name) is not None})


def _paste_frame(frame: Frame, field: int, top: int, left: int) -> Frame:
    # Every map into a field x field zero canvas at (top, left), clipped at the edges.
    return replace(frame, **{name: _paste(getattr(frame, name), field, top, left)
                             for name in _MAPS if getattr(frame, name) is not None})


def _paste(values: np.ndarray, field: int, top: int, left: int) -> np.ndarray:
    out = np.zeros((field, field) + values.shape[2:], dtype=values.dtype)
    height, width = values.shape[:2]
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + height, field), min(left + width, field)
    if y1 > y0 and x1 > x0:
        out[y0:y1, x0:x1] = values[y0 - top:y1 - top, x0 - left:x1 - left]
    return out


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
