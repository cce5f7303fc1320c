"""Export a manifest in the formats training code loads, atomically, and verify it.

Formats (``FORMATS``):

* ``parquet`` / ``jsonl``: the manifest rows plus ``image_path`` (relative), images under
  ``images/``; :class:`curator.export.torch.ManifestDataset` reads either;
* ``folder``: one folder per class, ``<label>/<sample_id>.<ext>`` (hard links to the
  workspace's image files where possible, else copies);
* ``coco``: ``annotations.json`` (images, categories, boxes, RLE masks from the instance
  masks; zero-area boxes left out and counted) and ``images/``;
* ``hf``: a Hugging Face ``datasets`` directory: ``data/<split>-00000-of-00001.parquet``
  with an ``image`` column (``{"bytes", "path"}``), loadable with
  ``datasets.load_dataset("parquet", data_dir=...)``.

Every export is written to a temporary folder beside ``out``, re-read and checked (ids,
labels, image bytes), then renamed into place. An existing ``out`` is replaced only with
``force``; nothing is written outside ``out``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from curator.errors import CuratorError
from curator.manifest import Manifest, read_manifest
from curator.results import ResultMixin, jsonable
from curator.store import Workspace

FORMATS = ("parquet", "jsonl", "folder", "coco", "hf")
CHUNK = 512
#: Written into every finished export; ``force`` replaces only folders that have it.
MARKER = "curator-export.json"
#: Folder name of samples without a label in a folder-per-class export.
UNLABELED = "_unlabeled"


class ExportError(CuratorError):
    """An export cannot be written, or does not read back as written."""


@dataclass
class ExportSummary(ResultMixin):
    """What an export wrote, and that it read back identical."""

    format: str
    path: Path
    samples: int
    files: int
    verified: bool
    seconds: float
    skipped: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.path = Path(self.path)  # a str when read back from JSON

    def __str__(self) -> str:
        extra = "".join(f"; {v} {k}" for k, v in self.skipped.items() if v)
        return (f"exported {self.samples:,} sample(s) as {self.format} to {self.path} "
                f"({self.files:,} file(s), verified: ids, labels and image bytes match"
                f"{extra}; {self.seconds:.1f} s)")


def safe_name(text: str) -> str:
    """A label as one path component: no separators, no leading dots, never empty."""
    cleaned = re.sub(r"[^\w.\- ]+", "_", str(text)).strip().lstrip(".")
    return cleaned[:100] or "_"


def _extension(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return ".png"
    if data.startswith(b"\xff\xd8"):
        return ".jpg"
    from PIL import Image

    fmt = (Image.open(io.BytesIO(data)).format or "bin").lower()
    return ".jpg" if fmt == "jpeg" else f".{fmt}"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _rows(ws: Workspace, manifest: Manifest) -> Iterator[pd.DataFrame]:
    """The manifest's rows with their image and mask columns, a chunk at a time, in one
    streaming pass over the workspace (only the manifest's samples are decoded)."""
    import pyarrow.compute as pc

    present = set(ws.samples.schema().names)
    extra = [c for c in ("image_bytes", "mask_bytes", "mask_kind") if c in present]
    frame = manifest.frame.set_index("sample_id")
    wanted = pc.field("sample_id").isin(pa.array(frame.index.tolist(), pa.string()))
    seen: set[str] = set()
    for batch in ws.iter_batches(["sample_id", *extra], wanted, batch_size=CHUNK):
        part = batch.to_pandas().drop_duplicates("sample_id")
        part = part[~part["sample_id"].isin(seen)]
        seen.update(part["sample_id"])
        merged = frame.loc[part["sample_id"]].reset_index().merge(part, on="sample_id")
        merged["label"] = merged["label"].astype(object).where(merged["label"].notna(), None)
        yield merged


def _label(row: dict[str, Any]) -> str | None:
    """The row's label as text, or None for an unlabelled sample (never "nan")."""
    return None if row.get("label") is None else str(row["label"])


def _image(ws: Workspace, row: dict[str, Any]) -> bytes:
    uri = row.get("image_uri")
    data = row.get("image_bytes")
    return ws.image_bytes({"sample_id": row["sample_id"],
                           "image_bytes": data if isinstance(data, bytes) else None,
                           "image_uri": uri if isinstance(uri, str) else None})


def _write_image(ws: Workspace, row: dict[str, Any], directory: Path, link: bool
                 ) -> tuple[Path, str]:
    """Write (or hard-link) one image as ``directory/<sample_id>.<ext>``; returns the path
    and the image's sha256."""
    data = _image(ws, row)
    target = directory / f"{row['sample_id']}{_extension(data)}"
    uri = row.get("image_uri")
    directory.mkdir(parents=True, exist_ok=True)
    if link and isinstance(uri, str):
        from curator.paths import resolve_inside

        try:
            os.link(resolve_inside(ws.root, uri, what="image_uri"), target)
            return target, _sha(data)
        except OSError:
            pass  # another filesystem, or links not allowed: copy instead
    target.write_bytes(data)
    return target, _sha(data)


def export_manifest(ws: Workspace, manifest: Manifest | str | Path, out: str | Path,
                    fmt: str, *, force: bool = False, link: bool = False,
                    progress: Callable[[int, int], None] | None = None) -> ExportSummary:
    """Export ``manifest`` (a :class:`Manifest` or its file) as ``fmt`` into ``out``."""
    if fmt not in FORMATS:
        raise ExportError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if not isinstance(manifest, Manifest):
        manifest = read_manifest(manifest)
    out = Path(out).expanduser().resolve()
    root = ws.root.resolve()
    if out == root or root.is_relative_to(out):
        raise ExportError(f"{out} holds the workspace {root}: export into a folder of its own")
    if out.exists() and not force:
        raise ExportError(f"{out} exists already; choose another folder or pass --force to "
                          "replace it")
    if out.exists() and not (out / MARKER).is_file():
        raise ExportError(f"{out} exists and is not a curator export (no {MARKER}): "
                          "--force replaces only earlier exports; choose another folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    staging = out.parent / f".tmp-export-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        writer = {"parquet": _table_export, "jsonl": _table_export, "folder": _folder_export,
                  "coco": _coco_export, "hf": _hf_export}[fmt]
        files, expected, skipped = writer(ws, manifest, staging, fmt, link, progress)
        _verify(fmt, staging, manifest, expected)
        (staging / MARKER).write_text(json.dumps(
            {"format": fmt, "manifest": manifest.header["name"], "hash": manifest.hash,
             "samples": len(manifest.frame)}, indent=2, sort_keys=True) + "\n")
        if out.exists():  # force: swap in, then drop the old export
            trash = out.parent / f".tmp-old-{uuid.uuid4().hex}"
            out.rename(trash)
            try:
                staging.rename(out)
            except OSError:
                trash.rename(out)  # the old export stays where it was
                raise
            shutil.rmtree(trash, ignore_errors=True)
        else:
            staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportSummary(fmt, out, len(manifest.frame), files, True,
                         time.perf_counter() - start, skipped)


# -- writers: each returns (files written, {sample_id: (label, image sha256)}, skipped) -----
Expected = dict[str, tuple[str, str]]


def _progress(progress, done: int, total: int) -> None:
    if progress:
        progress(done, total)


def _table_export(ws, manifest, root: Path, fmt: str, link: bool, progress):
    expected: Expected = {}
    records: list[dict[str, Any]] = []
    total = len(manifest.frame)
    for part in _rows(ws, manifest):
        for row in part.to_dict("records"):
            path, sha = _write_image(ws, row, root / "images", link)
            expected[row["sample_id"]] = (_label(row), sha)
            keep = {k: row.get(k) for k in manifest.frame.columns}
            keep["image_path"] = path.relative_to(root).as_posix()
            records.append(keep)
        _progress(progress, len(records), total)
    frame = pd.DataFrame(records)
    if fmt == "parquet":
        table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(
            {b"curator.manifest": json.dumps(manifest.header, sort_keys=True).encode()})
        pq.write_table(table, root / "manifest.parquet")
    else:
        with open(root / "manifest.jsonl", "w") as fh:
            for rec in records:
                fh.write(json.dumps(jsonable(rec), sort_keys=True) + "\n")
        (root / "header.json").write_text(json.dumps(manifest.header, indent=2,
                                                     sort_keys=True) + "\n")
    return len(records) + 1, expected, {}


def class_folders(labels: Any) -> dict[str | None, str]:
    """A path-safe folder name per label, unique even when two labels clean to the same
    name (then each gets a short hash of its label); unlabelled samples go to
    ``_unlabeled``."""
    labels = sorted({None if v is None or v != v else str(v) for v in labels},
                    key=lambda v: (v is None, v or ""))
    names = {lab: UNLABELED if lab is None else safe_name(lab) for lab in labels}
    clashes = pd.Series(list(names.values())).str.lower().value_counts()
    for lab, name in names.items():
        if lab is not None and clashes[name.lower()] > 1:
            names[lab] = f"{name[:90]}-{hashlib.sha256(lab.encode()).hexdigest()[:8]}"
    return names


def _folder_export(ws, manifest, root: Path, fmt: str, link: bool, progress):
    expected: Expected = {}
    total = len(manifest.frame)
    folders = class_folders(manifest.frame["label"])
    for part in _rows(ws, manifest):
        for row in part.to_dict("records"):
            _, sha = _write_image(ws, row, root / folders[_label(row)], link)
            expected[row["sample_id"]] = (folders[_label(row)], sha)
        _progress(progress, len(expected), total)
    (root / "manifest.json").write_text(json.dumps(manifest.header, indent=2,
                                                   sort_keys=True) + "\n")
    (root / "classes.json").write_text(json.dumps(
        {folder: label for label, folder in folders.items()}, indent=2, sort_keys=True) + "\n")
    return len(expected) + 2, expected, {}


def _coco_export(ws, manifest, root: Path, fmt: str, link: bool, progress):
    from pycocotools import mask as mask_utils

    from curator.images import decode_bytes

    expected: Expected = {}
    images, annotations = [], []
    labels = sorted({str(o["label"]) for objs in manifest.frame["objects"]
                     if objs is not None for o in objs})
    category = {name: i + 1 for i, name in enumerate(labels)}
    skipped = {"zero-area boxes left out": 0}
    total = len(manifest.frame)
    for part in _rows(ws, manifest):
        for row in part.to_dict("records"):
            path, sha = _write_image(ws, row, root / "images", link)
            rel = path.relative_to(root).as_posix()
            expected[row["sample_id"]] = (_label(row), sha)
            image_id = len(images) + 1
            images.append({"id": image_id, "file_name": rel, "width": int(row["width"]),
                           "height": int(row["height"]), "sample_id": row["sample_id"],
                           "label": _label(row)})
            objects = row.get("objects")
            if objects is None or not len(objects):
                continue
            inst = None
            if isinstance(row.get("mask_bytes"), bytes) and row.get("mask_kind") == "instance":
                inst = decode_bytes(row["mask_bytes"], where=f"mask of {row['sample_id']}"
                                    ).pixels
            for obj in objects:
                x, y, w, h = (float(v) for v in obj["bbox_xywh"])
                if w <= 0 or h <= 0:
                    skipped["zero-area boxes left out"] += 1
                    continue
                ann = {"id": len(annotations) + 1, "image_id": image_id,
                       "category_id": category[str(obj["label"])], "bbox": [x, y, w, h],
                       "area": float(obj["area"]) if obj.get("area") else w * h,
                       "iscrowd": int(bool(obj.get("iscrowd")))}
                if inst is not None and obj.get("instance_id") is not None:
                    binary = np.asfortranarray((inst == int(obj["instance_id"]))
                                               .astype(np.uint8))
                    rle = mask_utils.encode(binary)
                    ann["segmentation"] = {"size": [int(s) for s in rle["size"]],
                                           "counts": rle["counts"].decode("ascii")}
                    ann["area"] = float(mask_utils.area(rle))
                elif obj.get("rle_json"):
                    ann["segmentation"] = json.loads(obj["rle_json"])
                elif obj.get("polygons") is not None:
                    ann["segmentation"] = [list(map(float, p)) for p in obj["polygons"]]
                annotations.append(ann)
        _progress(progress, len(images), total)
    doc = {"info": {"description": f"curator manifest {manifest.header['name']}",
                    "manifest_hash": manifest.hash, "version": manifest.header.get(
                        "curator_version")},
           "images": images, "annotations": annotations,
           "categories": [{"id": i, "name": n, "supercategory": "object"}
                          for n, i in category.items()]}
    (root / "annotations.json").write_text(json.dumps(doc) + "\n")
    return len(images) + 1, expected, skipped


HF_SCHEMA = pa.schema([
    ("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
    ("label", pa.string()), ("sample_id", pa.string()), ("source", pa.string()),
    ("weight", pa.float64())])


def _hf_export(ws, manifest, root: Path, fmt: str, link: bool, progress):
    expected: Expected = {}
    features = {"image": {"_type": "Image"}, "label": _hf_value("string"),
                "sample_id": _hf_value("string"), "source": _hf_value("string"),
                "weight": _hf_value("float64")}
    schema = HF_SCHEMA.with_metadata(
        {b"huggingface": json.dumps({"info": {"features": features}}).encode()})
    (root / "data").mkdir()
    writers: dict[str, pq.ParquetWriter] = {}  # one file per split, a row group per chunk
    total = len(manifest.frame)
    try:
        for part in _rows(ws, manifest):
            by_split: dict[str, list[dict[str, Any]]] = {}
            for row in part.to_dict("records"):
                data = _image(ws, row)
                expected[row["sample_id"]] = (_label(row), _sha(data))
                split = re.sub(r"\W+", "_", str(row["split"] or "train")).strip("_") or "train"
                by_split.setdefault(split, []).append({
                    "image": {"bytes": data, "path": f"{row['sample_id']}{_extension(data)}"},
                    "label": _label(row), "sample_id": row["sample_id"],
                    "source": row["source"], "weight": float(row["weight"])})
            for split, records in by_split.items():
                if split not in writers:
                    writers[split] = pq.ParquetWriter(
                        root / "data" / f"{split}-00000-of-00001.parquet", schema)
                writers[split].write_table(pa.Table.from_pylist(records, schema=schema))
            _progress(progress, len(expected), total)
    finally:
        for writer in writers.values():
            writer.close()
    splits = sorted(writers)
    (root / "README.md").write_text(
        "---\nconfigs:\n- config_name: default\n  data_files:\n"
        + "".join(f"  - split: {s}\n    path: data/{s}-*.parquet\n" for s in splits)
        + f"---\n\n# {manifest.header['name']}\n\ncurator manifest {manifest.hash}: "
        f"{len(expected):,} samples. Load with `datasets.load_dataset(\"parquet\", "
        f"data_dir=\"data\")` or `datasets.load_dataset(\"<this folder>\")`.\n")
    return len(splits) + 1, expected, {}


def _hf_value(dtype: str) -> dict[str, str]:
    return {"dtype": dtype, "_type": "Value"}


# -- verification ---------------------------------------------------------------------------
def read_export(fmt: str, root: Path) -> Expected:
    """``{sample_id: (label, image sha256)}`` as found in an export folder."""
    root = Path(root)
    found: Expected = {}
    if fmt in ("parquet", "jsonl"):
        frame = pd.read_parquet(root / "manifest.parquet") if fmt == "parquet" else \
            pd.read_json(root / "manifest.jsonl", lines=True, dtype={"label": str,
                                                                      "sample_id": str})
        for row in frame.itertuples():
            label = None if row.label is None or row.label != row.label else str(row.label)
            found[row.sample_id] = (label, _sha((root / row.image_path).read_bytes()))
    elif fmt == "folder":
        for path in sorted(root.glob("*/*")):
            found[path.stem] = (path.parent.name, _sha(path.read_bytes()))
    elif fmt == "coco":
        doc = json.loads((root / "annotations.json").read_text())
        for img in doc["images"]:
            found[img["sample_id"]] = (img["label"], _sha((root / img["file_name"]).read_bytes()))
    elif fmt == "hf":
        for path in sorted((root / "data").glob("*.parquet")):
            for batch in pq.ParquetFile(path).iter_batches(batch_size=CHUNK):  # streamed
                for rec in batch.to_pylist():
                    found[rec["sample_id"]] = (rec["label"], _sha(rec["image"]["bytes"]))
    return found


def _verify(fmt: str, root: Path, manifest: Manifest, expected: Expected) -> None:
    found = read_export(fmt, root)  # (a folder export's "label" is its class folder)
    if set(found) != set(manifest.frame["sample_id"]):
        missing = set(manifest.frame["sample_id"]) - set(found)
        raise ExportError(f"the {fmt} export lacks {len(missing)} sample(s), e.g. "
                          f"{sorted(missing)[:1]}, or holds extra ones")
    bad = [k for k, v in expected.items() if found.get(k) != v]
    if bad:
        raise ExportError(f"the {fmt} export does not read back as written for "
                          f"{len(bad)} sample(s), e.g. {bad[0]}")
