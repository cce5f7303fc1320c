"""Augmentation runs: N label-consistent affine variants of workspace samples, as new rows.

The workflow around the pure affine maths of :mod:`generators.augment`: it reads parents
from the workspace and appends the variants.

Each variant is ``source=augmented`` with its parent in ``parent_ids`` and the parent's
attributes plus ``aug_*`` parameters. Parents already augmented with the same settings and
seed are skipped, so a killed run resumes without duplicates.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow.compute as pc

from curator.hashing import config_hash, text_id
from curator.images import decode_bytes, encode_png
from curator.results import ResultMixin
from curator.schema import CORE_COLUMNS
from curator.validation import check_scalar
from generators.augment import (
    AffineParams,
    affine_matrix,
    augment_variants,
    check_augment_ranges,
)
from generators.errors import GeneratorError
from generators.frame import Frame
from generators.recipe import GENERATOR_VERSION
from generators.rows import batch_rows, decode_frame, encode_frame, rows_to_table

Progress = Callable[[int, int | None], None]
AUGMENTABLE_SOURCES = ("real", "synthetic")  # never augment augmentations or oversamples


@dataclass
class AugmentSummary(ResultMixin):
    """What an augment run did: its config and seed, parents seen, skipped and augmented,
    rows written. Round-trips through ``to_dict``/``from_dict`` and ``save``/``load``."""

    config_hash: str
    seed: int
    variants_per_sample: int
    parents_seen: int = 0
    parents_done_before: int = 0
    parents_augmented: int = 0
    skipped_unsupported: int = 0
    written: int = 0
    small_objects: int = 0
    seconds: float = 0.0

    def result_title(self) -> str:
        return f"augment x{self.variants_per_sample}"

    def __str__(self) -> str:
        return (f"augment (config {self.config_hash}, seed {self.seed}, "
                f"x{self.variants_per_sample}): {self.parents_augmented} sample(s) augmented, "
                f"{self.written} row(s) written, {self.parents_done_before} already done, "
                f"{self.skipped_unsupported} skipped (image mode not supported), "
                f"{self.small_objects} object(s) dropped as too small; {self.seconds:.1f} s")


def _parent_frame(ws: Any, row: Mapping[str, Any]) -> tuple[Frame, str] | None:
    decoded = decode_bytes(ws.image_bytes(row), where=f"sample {row['sample_id']}")
    pixels = decoded.pixels
    if decoded.mode in ("RGBA", "LA"):
        pixels = pixels[..., :-1] if decoded.mode == "RGBA" else pixels[..., 0]
    elif decoded.mode not in ("RGB", "L"):
        return None
    classes = json.loads(row["gen_classes"]) if row.get("gen_classes") else None
    frame = decode_frame(row, np.ascontiguousarray(pixels), classes)
    kind = row.get("mask_kind")
    if kind in ("class", "matte") and row.get("mask_bytes") is not None:
        mask = decode_bytes(row["mask_bytes"], where=f"mask of {row['sample_id']}",
                            keep_palette=True).pixels
        if kind == "class":
            frame = replace(frame, class_mask=mask)
        else:
            frame = replace(frame, matte=mask.astype(np.float32) / 255.0)
    return frame, kind or ""


def _warp_box_objects(objects: list[dict], params: AffineParams, width: int, height: int,
                      min_pixels: int) -> list[dict]:
    """Boxes and polygons of rows without an instance mask, moved with the image."""
    m = affine_matrix(params, width, height)

    def move(points: np.ndarray) -> np.ndarray:
        return points @ m[:2, :2].T + m[:2, 2]

    out = []
    for obj in objects:
        x, y, w, h = obj["bbox_xywh"]
        corners = move(np.array([[x, y], [x + w, y], [x, y + h], [x + w, y + h]], float))
        x0, y0 = np.clip(corners.min(axis=0), 0, [width, height])
        x1, y1 = np.clip(corners.max(axis=0), 0, [width, height])
        if (x1 - x0) * (y1 - y0) < min_pixels:
            continue
        polygons = None
        if obj.get("polygons"):
            polygons = [move(np.asarray(p, float).reshape(-1, 2)).ravel().tolist()
                        for p in obj["polygons"]]
        out.append({**obj, "bbox_xywh": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                    "area": float((x1 - x0) * (y1 - y0)) if obj.get("area") is None
                    else float(obj["area"]) * params.scale ** 2,
                    "polygons": polygons, "rle_json": None})
    return out


def _variant_row(parent: Mapping[str, Any], kind: str, frame: Frame, params: AffineParams,
                 k: int, aug_hash: str, seed: int, min_pixels: int) -> dict[str, Any]:
    row = encode_frame(frame)
    if kind == "class" and frame.class_mask is not None:
        mode = "I;16" if frame.class_mask.dtype == np.uint16 else "L"
        row.update(mask_bytes=encode_png(frame.class_mask, mode), mask_kind="class",
                   class_mask_bytes=None)
    elif kind == "matte" and frame.matte is not None:
        row.update(mask_bytes=row["matte_bytes"], mask_kind="matte", matte_bytes=None)
    if frame.instance_mask is None:
        row["objects"] = _warp_box_objects(list(parent.get("objects") or []), params,
                                           frame.width, frame.height, min_pixels)
    attributes = {k_: v for k_, v in parent.items() if k_ not in CORE_COLUMNS}
    row.update(attributes)
    row.update(
        # encode_frame's id is the pixel hash; add the provenance, as generated rows do.
        sample_id=text_id("augmented", row["sample_id"], parent["sample_id"], aug_hash,
                          str(seed), str(k)),
        source="augmented", label=parent.get("label"), split=parent.get("split"),
        origin=f"augment:{parent['sample_id']}#{k}", generator="generators.augment",
        generator_version=GENERATOR_VERSION, config_hash=aug_hash, seed=int(seed),
        parent_ids=[parent["sample_id"]],
        aug_seed=int(seed), aug_variant=int(k), aug_rotate_deg=float(params.rotate_deg),
        aug_scale=float(params.scale), aug_shift_x_frac=float(params.shift_x_frac),
        aug_shift_y_frac=float(params.shift_y_frac), aug_flip_h=bool(params.flip_h),
    )
    return row


def parent_rng(seed: int, parent_id: str) -> np.random.Generator:
    """The stream a parent's variants are drawn from, in order (variant k is the k-th
    draw): the run seed and the parent's id are all it takes to reproduce one."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(int(parent_id[:15],
                                                                               16),)))


def done_parents(ws: Any, aug_hash: str, seed: int) -> set[str]:
    """Parents that already have variants made with this config and seed."""
    if "aug_seed" not in ws.attribute_types():
        return set()
    table = ws.to_table(columns=["parent_ids"],
                        filters=(pc.field("config_hash") == aug_hash)
                        & (pc.field("aug_seed") == int(seed)))
    return set(pc.list_flatten(table["parent_ids"]).to_pylist())


def augment(ws: Any, n: int, *, seed: int = 0, ranges: Mapping[str, Any] | None = None,
            split: str | None = "train", where: str | None = None, min_pixels: int = 1,
            write_rows: int = 4096, progress: Progress | None = None) -> AugmentSummary:
    """Add ``n`` affine variants of every matching real or synthetic sample.

    ``split`` (default ``train``: augmenting evaluation data would inflate scores) and
    ``where`` (a pandas query over the rows' columns) choose the parents.
    """
    n = check_scalar(n, "n", min_val=1, error=GeneratorError,
                     message="{name} must be a positive number of variants per sample, "
                     "got {value!r}")
    seed = check_scalar(seed, "seed", min_val=0, error=GeneratorError,
                        message="{name} must be a non-negative whole number, got {value!r}")
    full_ranges = check_augment_ranges(ranges or {})
    aug_hash = config_hash({"augment": {k: list(v) if isinstance(v, tuple) else v
                                        for k, v in full_ranges.items()},
                            "n": n, "min_pixels": min_pixels, "version": GENERATOR_VERSION})
    summary = AugmentSummary(aug_hash, seed, n)
    done = done_parents(ws, aug_hash, seed)
    filters = pc.field("source").isin(list(AUGMENTABLE_SOURCES))
    if split is not None:
        filters = filters & (pc.field("split") == split)
    total = ws.samples.count(filters=filters) if where is None else None
    start = time.perf_counter()
    buffer: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal buffer
        if buffer:
            summary.written += ws.append_samples(rows_to_table(buffer))
            buffer = []

    for batch in ws.iter_batches(filters=filters):
        for parent in batch_rows(batch, where):
            summary.parents_seen += 1
            if parent["sample_id"] in done:
                summary.parents_done_before += 1
                continue
            loaded = _parent_frame(ws, parent)
            if loaded is None:
                summary.skipped_unsupported += 1
                continue
            base, kind = loaded
            rng = parent_rng(seed, parent["sample_id"])
            for k, (params, variant) in enumerate(augment_variants(base, n, rng, full_ranges,
                                                                   min_pixels=min_pixels)):
                summary.small_objects += variant.n_small - base.n_small
                buffer.append(_variant_row(parent, kind, variant, params, k, aug_hash, seed,
                                           min_pixels))
            summary.parents_augmented += 1
            if len(buffer) >= write_rows:
                flush()
            if progress:
                progress(summary.parents_seen, total)
    flush()
    summary.seconds = time.perf_counter() - start
    return summary
