"""The ingest engine shared by every real-data format.

A format yields :class:`Draft` items (a lazily loaded sample) and :class:`Reject` items; the
engine decodes, de-duplicates by content id, batches rows into atomic shards and records
rejects, so an interrupted ingest re-runs to exactly the full set.
"""

from __future__ import annotations

import datetime as dt
import html
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from curator.errors import CuratorError, ImageError
from curator.fileio import atomic_write_bytes
from curator.hashing import config_hash, text_id
from curator.images import DecodedImage
from curator.results import ResultMixin
from curator.schema import REJECT_SCHEMA, SAMPLE_SCHEMA, conform_samples
from curator.splits import SplitSpec
from curator.store import Workspace
from curator.validation import check_scalar
from curator.version import __version__

#: Images whose raw pixels exceed this are copied to ``media/`` instead of inlined.
DEFAULT_INLINE_MAX_BYTES = 256 * 1024
DEFAULT_BATCH_ROWS = 2_048
_MEDIA_EXT = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp", "TIFF": ".tif", "BMP": ".bmp"}


@dataclass(frozen=True)
class Loaded:
    """What a draft's loader returns: the image and optionally its mask or matte."""

    image: DecodedImage
    mask: DecodedImage | None = None
    mask_kind: str | None = None


@dataclass
class Draft:
    """A candidate sample: where it comes from and how to load it."""

    origin: str
    load: Callable[[], Loaded]
    label: str | None = None
    split: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    objects: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class Reject:
    """An input item that cannot become a sample, and why."""

    item: str
    reason: str
    message: str


@dataclass
class IngestSummary(ResultMixin):
    """What an ingest did: rows added, duplicates skipped, rejects with reasons."""

    format: str
    source_path: str
    workspace: str
    added: int = 0
    skipped_existing: int = 0
    skipped_in_source: int = 0
    rejects: list[Reject] = field(default_factory=list)
    shards_written: int = 0
    seconds: float = 0.0
    config_hash: str = ""

    @property
    def rejected(self) -> int:
        return len(self.rejects)

    def reject_counts(self) -> dict[str, int]:
        return dict(Counter(r.reason for r in self.rejects).most_common())

    def to_frame(self) -> pd.DataFrame:
        """The rejects as a table (item, reason, message)."""
        columns = ["item", "reason", "message"]
        return pd.DataFrame([r.__dict__ for r in self.rejects], columns=columns)

    def __str__(self) -> str:
        lines = [
            f"ingest {self.format} from {self.source_path} into {self.workspace}",
            f"  added {self.added} row(s) in {self.shards_written} shard(s), "
            f"{self.seconds:.1f}s",
            f"  skipped {self.skipped_existing} already in the workspace, "
            f"{self.skipped_in_source} duplicate(s) within the source",
            f"  rejected {self.rejected}"
            + (": " + ", ".join(f"{k} x{v}" for k, v in self.reject_counts().items())
               if self.rejects else ""),
        ]
        return "\n".join(lines)

    def to_html(self) -> str:
        head = "".join(f"<li>{html.escape(line.strip())}</li>" for line in str(self).splitlines())
        table = self.to_frame().to_html(index=False) if self.rejects else ""
        return f"<div class='curator-ingest'><ul>{head}</ul>{table}</div>"


def _sample_row(
    loaded: Loaded, draft: Draft, *, split: str, ws: Workspace, provenance: Mapping[str, Any],
    inline_max_bytes: int,
) -> dict[str, Any]:
    image = loaded.image
    row: dict[str, Any] = {
        "sample_id": image.sample_id,
        "source": "real",
        "label": draft.label,
        "split": split,
        "image_bytes": None,
        "image_uri": None,
        "width": image.width,
        "height": image.height,
        "mode": image.mode,
        "mask_bytes": loaded.mask.png_bytes if loaded.mask is not None else None,
        "mask_kind": loaded.mask_kind if loaded.mask is not None else None,
        "objects": draft.objects,
        "origin": draft.origin,
        **provenance,
        "parent_ids": [],
    }
    if image.pixels.nbytes <= inline_max_bytes:
        row["image_bytes"] = image.png_bytes
    else:
        row["image_uri"] = _store_media(ws, image)
    row.update(draft.attributes)
    return row


def _store_media(ws: Workspace, image: DecodedImage) -> str:
    """Copy a large image into ``media/`` under its content id; returns the relative uri."""
    ext = _MEDIA_EXT.get(image.original_format or "")
    data = image.original_bytes if ext and image.original_bytes else image.png_bytes
    ext = ext if ext and image.original_bytes else ".png"
    rel = f"media/{image.sample_id[:2]}/{image.sample_id}{ext}"
    path = ws.root / rel
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data, staging=ws.media_dir)
    return rel


def _rows_to_table(rows: list[dict[str, Any]],
                   attribute_types: Mapping[str, pa.DataType]) -> pa.Table:
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    arrays, fields = [], []
    for name in names:
        values = [row.get(name) for row in rows]
        type_ = (SAMPLE_SCHEMA.field(name).type if name in SAMPLE_SCHEMA.names
                 else attribute_types.get(name))
        try:
            arr = pa.array(values, type=type_)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise CuratorError(f"column {name!r}: mixed or unsupported values ({exc})") from None
        arrays.append(arr)
        fields.append(pa.field(name, arr.type))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _rejects_table(rejects: list[Reject], *, fmt: str, source_path: str, chash: str,
                   now: dt.datetime, known: set[str]) -> pa.Table:
    rows = []
    for r in rejects:
        rid = text_id(fmt, source_path, r.item, r.reason)
        if rid in known:
            continue
        known.add(rid)
        rows.append({"reject_id": rid, "format": fmt, "source_path": source_path, "item": r.item,
                     "reason": r.reason, "message": r.message, "config_hash": chash,
                     "rejected_at": now})
    return pa.Table.from_pylist(rows, schema=REJECT_SCHEMA)


def run_ingest(
    ws: Workspace,
    items: Iterable[Draft | Reject],
    *,
    fmt: str,
    source_path: Path | str,
    config: Mapping[str, Any],
    split: SplitSpec,
    total: int | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    inline_max_bytes: int = DEFAULT_INLINE_MAX_BYTES,
    attribute_types: Mapping[str, pa.DataType] | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> IngestSummary:
    """Ingest ``items`` into ``ws``; idempotent and resumable.

    Parameters
    ----------
    items
        Drafts and rejects produced by a format reader, in a deterministic order.
    config
        The format's settings; hashed into every row's ``config_hash``.
    split
        Split for drafts that do not carry their own.
    progress
        Called as ``progress(drafts_done, total)`` after each draft.
    """
    check_scalar(batch_rows, "batch_rows", min_val=1, message="{name} must be >= 1, got {value}")
    source = str(source_path)
    chash = config_hash({"format": fmt, **config, "split": str(split)})
    summary = IngestSummary(format=fmt, source_path=source, workspace=str(ws.root),
                            config_hash=chash)
    start = time.perf_counter()
    now = dt.datetime.now(dt.timezone.utc)
    provenance = {"generator": f"ingest.{fmt}", "generator_version": __version__,
                  "config_hash": chash, "seed": None, "ingested_at": now}
    types = dict(attribute_types or {})
    with ws.write_lock():
        # The workspace's types win, so an attribute keeps one type across shards.
        types = {**types, **ws.attribute_types()}
        seen = ws.sample_ids()
        known_rejects = set(ws.rejects.to_table(["reject_id"])["reject_id"].to_pylist())
        rows: list[dict[str, Any]] = []
        pending_rejects: list[Reject] = []
        in_source: set[str] = set()

        def flush() -> None:
            if rows:
                table = conform_samples(_rows_to_table(rows, types), types, now=now)
                ws.samples.write_shard(table)
                summary.shards_written += 1
                summary.added += len(rows)
                rows.clear()
            if pending_rejects:
                table = _rejects_table(pending_rejects, fmt=fmt, source_path=source, chash=chash,
                                       now=now, known=known_rejects)
                if table.num_rows:
                    ws.rejects.write_shard(table)
                pending_rejects.clear()

        done = 0  # drafts handled; the progress unit (rejects from parsing are instant)
        for item in items:
            if isinstance(item, Reject):
                summary.rejects.append(item)
                pending_rejects.append(item)
            else:
                done += 1
                try:
                    loaded = item.load()
                    _check_mask(loaded, item.origin)
                except CuratorError as exc:
                    reject = Reject(item.origin, exc.reason, str(exc))
                    summary.rejects.append(reject)
                    pending_rejects.append(reject)
                else:
                    sid = loaded.image.sample_id
                    if sid in in_source:
                        summary.skipped_in_source += 1
                    elif sid in seen:
                        summary.skipped_existing += 1
                    else:
                        seen.add(sid)
                        split_name = item.split or split.assign(sid)
                        rows.append(_sample_row(loaded, item, split=split_name, ws=ws,
                                                provenance=provenance,
                                                inline_max_bytes=inline_max_bytes))
                    in_source.add(sid)
                if progress is not None:
                    progress(done, total)
            if len(rows) >= batch_rows:
                flush()
        flush()
    summary.seconds = time.perf_counter() - start
    return summary


def _check_mask(loaded: Loaded, origin: str) -> None:
    mask, image = loaded.mask, loaded.image
    if mask is None:
        return
    if (mask.width, mask.height) != (image.width, image.height):
        raise ImageError(
            f"{origin}: mask is {mask.width}x{mask.height} but the image is "
            f"{image.width}x{image.height}", reason="mask_mismatch")
    if mask.mode not in ("L", "I;16"):
        raise ImageError(f"{origin}: mask must be single-channel, got mode {mask.mode}",
                         reason="bad_mask")
