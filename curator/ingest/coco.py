"""COCO detection/segmentation JSON plus its image folder.

Each COCO image becomes one sample whose ``objects`` hold its annotations (boxes, polygons or
RLE); its ``label`` is the category of its largest object. Dangling ids, zero-area or
out-of-image boxes and missing files are rejected item by item; the rest still lands.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from curator.errors import CuratorError, ImageError, IngestError
from curator.images import DEFAULT_MAX_PIXELS, decode_file
from curator.ingest.engine import Draft, Loaded, Reject
from curator.ingest.source import Source, require_dir, require_file
from curator.paths import resolve_inside


def _load_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise IngestError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: "
                          f"{exc.msg})") from None
    except UnicodeDecodeError as exc:
        raise IngestError(f"{path}: not UTF-8 text ({exc.reason})") from None
    if not isinstance(data, dict):
        raise IngestError(f"{path}: top level must be an object with 'images', "
                          "'annotations' and 'categories'")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise IngestError(f"{path}: missing or non-list '{key}'; is this a COCO "
                              "instances file?")
    return data


def _as_id(value: Any) -> int | str | None:
    return value if isinstance(value, (int, str)) and not isinstance(value, bool) else None


def _referenced(ann: dict[str, Any], key: str, table: dict[Any, Any], section: str,
                where: str) -> tuple[Any, Reject | None]:
    """What ``ann[key]`` points to in ``table``, or a ``dangling_<key>`` reject."""
    value = table.get(_as_id(ann.get(key)))
    if value is None:
        return None, Reject(where, f"dangling_{key}", f"{where} references {key} "
                            f"{ann.get(key)!r}, which is not in '{section}'")
    return value, None


def _object_from_annotation(ann: dict[str, Any], label: str, width: int | None,
                            height: int | None) -> dict[str, Any]:
    """Validate one annotation and turn it into an ``objects`` struct (or raise)."""
    where = f"annotation id={ann.get('id')}"
    bbox = ann.get("bbox")
    if (not isinstance(bbox, list) or len(bbox) != 4
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox)
            or not all(math.isfinite(v) for v in bbox)):
        raise CuratorError(f"{where}: bbox must be four finite numbers [x, y, w, h], "
                           f"got {bbox!r}", reason="bad_box")
    x, y, w, h = (float(v) for v in bbox)
    if w <= 0 or h <= 0:
        raise CuratorError(f"{where}: zero-area box {bbox} (width and height must be > 0)",
                           reason="zero_area_box")
    if width is not None and height is not None and (
            x < -0.5 or y < -0.5 or x + w > width + 0.5 or y + h > height + 0.5):
        raise CuratorError(f"{where}: box {bbox} lies outside the {width}x{height} image",
                           reason="box_outside_image")
    seg = ann.get("segmentation")
    polygons, rle = None, None
    if isinstance(seg, list):
        if not all(isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0 for p in seg):
            raise CuratorError(f"{where}: segmentation polygons must be lists of at least "
                               "three x, y pairs", reason="bad_segmentation")
        polygons = [[float(v) for v in p] for p in seg]
    elif isinstance(seg, dict):
        if "counts" not in seg or "size" not in seg:
            raise CuratorError(f"{where}: RLE segmentation needs 'counts' and 'size'",
                               reason="bad_segmentation")
        rle = json.dumps(seg, sort_keys=True)
    area = ann.get("area")
    return {
        "label": label,
        "instance_id": int(ann["id"]) if isinstance(ann.get("id"), int) else None,
        "bbox_xywh": [x, y, w, h],
        "area": float(area) if isinstance(area, (int, float)) else w * h,
        "iscrowd": bool(ann.get("iscrowd", 0)),
        "polygons": polygons,
        "rle_json": rle,
        "visibility": None,
        "occluded": None,
    }


def read_coco(annotations: Path, images: Path | None = None, *,
              max_pixels: int = DEFAULT_MAX_PIXELS) -> Source:
    """Read a COCO instances file; ``images`` defaults to the JSON file's folder."""
    annotations = require_file(Path(annotations), "COCO annotation file")
    images = require_dir(Path(images) if images is not None else annotations.parent,
                         "COCO image folder")
    data = _load_json(annotations)

    def items() -> Iterator[Draft | Reject]:
        categories: dict[Any, str] = {}
        for cat in data["categories"]:
            cid = _as_id(cat.get("id")) if isinstance(cat, dict) else None
            name = cat.get("name") if isinstance(cat, dict) else None
            if cid is None or not isinstance(name, str) or not name:
                yield Reject(f"category {cat!r:.60}", "bad_category",
                             "category needs an integer 'id' and a non-empty 'name'")
                continue
            categories[cid] = name
        image_meta: dict[Any, dict[str, Any]] = {}
        for img in data["images"]:
            iid = _as_id(img.get("id")) if isinstance(img, dict) else None
            if iid is None or not isinstance(img.get("file_name"), str):
                yield Reject(f"image {img!r:.60}", "bad_image_entry",
                             "image entry needs an 'id' and a 'file_name'")
                continue
            if iid in image_meta:
                yield Reject(f"image id={iid}", "duplicate_id", f"image id {iid} appears twice")
                continue
            image_meta[iid] = img
        objects: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        seen_ann: set[Any] = set()
        for ann in data["annotations"]:
            if not isinstance(ann, dict):
                yield Reject(f"annotation {ann!r:.60}", "bad_annotation", "not an object")
                continue
            aid = ann.get("id")
            where = f"annotation id={aid}"
            if aid in seen_ann:
                yield Reject(where, "duplicate_id", f"{where} appears twice")
                continue
            seen_ann.add(aid)
            img, reject = _referenced(ann, "image_id", image_meta, "images", where)
            if reject is None:
                label, reject = _referenced(ann, "category_id", categories, "categories", where)
            if reject is not None:
                yield reject
                continue
            w, h = img.get("width"), img.get("height")
            try:
                obj = _object_from_annotation(
                    ann, label, w if isinstance(w, int) else None,
                    h if isinstance(h, int) else None)
            except CuratorError as exc:
                yield Reject(where, exc.reason, str(exc))
                continue
            objects[img["id"]].append(obj)

        for iid, img in image_meta.items():
            file_name = img["file_name"]
            objs = objects.get(iid, [])
            label = max(objs, key=lambda o: o["area"])["label"] if objs else None

            def load(fn: str = file_name, meta: dict[str, Any] = img) -> Loaded:
                path = resolve_inside(images, fn, what=f"file_name of image id={meta['id']}")
                decoded = decode_file(path, where=fn, max_pixels=max_pixels)
                w, h = meta.get("width"), meta.get("height")
                if (isinstance(w, int) and isinstance(h, int)
                        and (w, h) != (decoded.width, decoded.height)):
                    raise ImageError(f"{fn}: COCO says {w}x{h} but the file is "
                                     f"{decoded.width}x{decoded.height}", reason="size_mismatch")
                return Loaded(decoded)

            yield Draft(origin=file_name, load=load, label=label, objects=objs)

    config = {"max_pixels": max_pixels}
    return Source("coco", annotations, items, config=config, total=len(data["images"]))
