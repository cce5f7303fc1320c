"""Frames to workspace rows and back: every label map as a PNG column of the sample schema.

Depth is 16-bit PNG in millimetres, normals 8-bit RGB (n = v / 127.5 - 1), the matte
8-bit coverage; the instance mask is 16-bit and goes to ``mask_bytes`` (``mask_kind``
``instance``) so real and synthetic rows share one schema.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
from PIL import Image

from curator.errors import CuratorError
from curator.images import encode_png, from_array
from curator.schema import SAMPLE_SCHEMA
from generators.frame import Frame, ObjectLabel
from generators.render import encode_normals

DEPTH_SCALE_M = 0.001  # one depth unit is a millimetre
LABEL_PNG_LEVEL = 1  # label maps are flat regions: fast zlib loses little size


def encode_frame(frame: Frame) -> dict[str, Any]:
    """Core columns for a frame: ids, image and label PNGs, objects."""
    image = from_array(frame.image)
    row: dict[str, Any] = {
        "sample_id": image.sample_id,
        # Rendered images carry sensor noise, which zlib barely shrinks: use the fast level.
        "image_bytes": _png_bytes(image.pixels, image.mode, rle=True),
        "width": frame.width,
        "height": frame.height,
        "mode": image.mode,
        "mask_bytes": None,
        "mask_kind": None,
        "class_mask_bytes": None,
        "matte_bytes": None,
        "depth_bytes": None,
        "normals_bytes": None,
        "objects": [_object_row(o) for o in frame.objects],
    }
    if frame.instance_mask is not None:
        row["mask_bytes"] = _png_bytes(frame.instance_mask.astype(np.uint16), "I;16")
        row["mask_kind"] = "instance"
    if frame.class_mask is not None:
        row["class_mask_bytes"] = _png_bytes(frame.class_mask.astype(np.uint8), "L")
    if frame.matte is not None:
        row["matte_bytes"] = _png_bytes(
            np.clip(np.round(frame.matte * 255), 0, 255).astype(np.uint8), "L")
    if frame.depth is not None:
        mm = np.clip(np.round(frame.depth / DEPTH_SCALE_M), 0, 65535).astype(np.uint16)
        row["depth_bytes"] = _png_bytes(mm, "I;16")
    if frame.normals is not None:
        row["normals_bytes"] = _png_bytes(encode_normals(frame.normals), "RGB", rle=True)
    return row


def _png_bytes(pixels: np.ndarray, mode: str, rle: bool = False) -> bytes:
    return encode_png(pixels, mode, compress_level=LABEL_PNG_LEVEL, rle=rle)


def _object_row(o: ObjectLabel) -> dict[str, Any]:
    return {"label": o.label, "instance_id": o.instance_id,
            "bbox_xywh": [float(v) for v in o.bbox_xywh], "area": float(o.area),
            "iscrowd": False, "polygons": None, "rle_json": None,
            "visibility": float(o.visibility), "occluded": bool(o.occluded)}


def _png(data: bytes | None) -> np.ndarray | None:
    if data is None:
        return None
    with Image.open(io.BytesIO(data)) as img:
        arr = np.asarray(img)
    return arr.astype(np.uint16) if arr.dtype.kind in "iu" and arr.dtype.itemsize > 1 else arr


def decode_frame(row: Mapping[str, Any], image: np.ndarray,
                 class_names: list[str] | None = None) -> Frame:
    """Rebuild a :class:`Frame` from a stored row (its decoded image passed in)."""
    instance = _png(row.get("mask_bytes")) if row.get("mask_kind") == "instance" else None
    class_mask = _png(row.get("class_mask_bytes"))
    matte = _png(row.get("matte_bytes"))
    depth = _png(row.get("depth_bytes"))
    normals = _png(row.get("normals_bytes"))
    if normals is not None:
        from generators.labels import decode_normals

        surface = depth > 0 if depth is not None else np.ones(normals.shape[:2], bool)
        normals = decode_normals(normals, surface)
    objects = []
    for o in row.get("objects") or []:
        label = o["label"] or ""
        index = class_names.index(label) + 1 if class_names and label in class_names else 0
        objects.append(ObjectLabel(
            int(o["instance_id"] or 0), label, index, tuple(o["bbox_xywh"] or (0, 0, 0, 0)),
            int(o["area"] or 0), float(1.0 if o["visibility"] is None else o["visibility"]),
            bool(o["occluded"])))
    return Frame(image=image, instance_mask=instance,
                 class_mask=class_mask.astype(np.uint8) if class_mask is not None else None,
                 matte=None if matte is None else matte.astype(np.float32) / 255.0,
                 depth=None if depth is None else depth.astype(np.float32) * DEPTH_SCALE_M,
                 normals=normals, objects=objects)


def rows_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Row dicts (possibly with different attribute keys) as one Arrow table."""
    names = list(dict.fromkeys(k for r in rows for k in r))
    columns = {}
    for name in names:
        values = [r.get(name) for r in rows]
        field = SAMPLE_SCHEMA.field(name) if name in SAMPLE_SCHEMA.names else None
        columns[name] = pa.array(values, field.type if field is not None else None)
    return pa.table(columns)


def batch_rows(batch: pa.RecordBatch, where: str | None = None) -> list[dict[str, Any]]:
    """A record batch as row dicts, keeping those matching ``where`` (a pandas query over
    the flat columns; bytes and nested columns are not loaded into pandas)."""
    rows = batch.to_pylist()
    if not where:
        return rows
    flat = [f.name for f in batch.schema
            if not pa.types.is_binary(f.type) and not pa.types.is_nested(f.type)]
    try:
        keep = batch.select(flat).to_pandas().query(where).index
    except Exception as exc:  # pandas raises many types for a bad expression
        raise CuratorError(f"bad where {where!r}: {exc}") from None
    return [rows[i] for i in keep]
