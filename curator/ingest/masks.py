"""Images with segmentation labels: a parallel mask folder, or RGBA images whose alpha is a matte.

Green-screen capture produces RGBA frames whose alpha is a high-quality soft matte; those land
as an RGB image plus an 8-bit ``matte`` mask. Mask folders mirror the image tree, matched by
relative path without extension.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import numpy as np

from curator.errors import ImageError, IngestError
from curator.images import DEFAULT_MAX_PIXELS, decode_file, decode_mask_file, from_array
from curator.ingest.engine import Draft, Loaded, Reject
from curator.ingest.source import Source, label_from_relpath, require_dir, walk_files
from curator.schema import MASK_KINDS


def _stem(rel: str) -> str:
    return str(PurePosixPath(rel).with_suffix(""))


def _split_alpha(path: Path, rel: str, max_pixels: int) -> Loaded:
    decoded = decode_file(path, where=rel, max_pixels=max_pixels)
    if decoded.mode not in ("RGBA", "LA"):
        raise ImageError(f"{rel}: has no alpha channel (mode {decoded.mode}); "
                         "alpha-matte ingest needs RGBA images", reason="no_alpha")
    pixels = decoded.pixels
    colour = from_array(np.ascontiguousarray(pixels[..., :-1]))
    matte = from_array(np.ascontiguousarray(pixels[..., -1]))
    return Loaded(colour, matte, "matte")


def read_masks(
    images: Path,
    masks: Path | None = None,
    *,
    alpha_matte: bool = False,
    mask_kind: str = "class",
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Source:
    """Pair each image under ``images`` with its mask, or split RGBA into image + matte.

    Exactly one of ``masks`` (a folder mirroring ``images``) and ``alpha_matte`` is used.
    Images follow the folder layout (first subfolder = label). An image without a mask is
    rejected (``missing_mask``), and so is a mask whose size differs (``mask_mismatch``).
    """
    images = require_dir(Path(images), "image folder")
    if (masks is None) == (not alpha_matte):
        raise IngestError("give either a mask folder or alpha_matte=True (not both, not neither)")
    if mask_kind not in MASK_KINDS:
        raise IngestError(f"mask_kind {mask_kind!r} is not one of {', '.join(MASK_KINDS)}")
    mask_index: dict[str, Path] = {}
    if masks is not None:
        masks = require_dir(Path(masks), "mask folder")
        for entry in walk_files(masks):
            if isinstance(entry, tuple):
                mask_index.setdefault(_stem(entry[0]), entry[1])

    def load_pair(path: Path, rel: str) -> Loaded:
        image = decode_file(path, where=rel, max_pixels=max_pixels)
        mask_path = mask_index.get(_stem(rel))
        if mask_path is None:
            raise ImageError(f"{rel}: no mask with the same name in {masks}",
                             reason="missing_mask")
        mask = decode_mask_file(mask_path, where=f"mask of {rel}", max_pixels=max_pixels)
        return Loaded(image, mask, mask_kind)

    def items() -> Iterator[Draft | Reject]:
        for entry in walk_files(images):
            if isinstance(entry, Reject):
                yield entry
                continue
            rel, path = entry
            if alpha_matte:
                load = lambda p=path, r=rel: _split_alpha(p, r, max_pixels)  # noqa: E731
            else:
                load = lambda p=path, r=rel: load_pair(p, r)  # noqa: E731
            yield Draft(origin=rel, load=load, label=label_from_relpath(rel))

    config = {"alpha_matte": alpha_matte, "mask_kind": "matte" if alpha_matte else mask_kind,
              "max_pixels": max_pixels}
    total = sum(1 for e in walk_files(images) if isinstance(e, tuple))
    return Source("masks", images, items, config=config, total=total)
