"""The sample schema: the Arrow types every workspace row carries, and their validation.

``conform_samples`` is the one gate between any producer (ingest, generators, samplers, user
code) and the store: it fills defaults, casts types and checks values, naming what is wrong.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curator.errors import SchemaError
from curator.hashing import ID_HEX_CHARS

SOURCES = ("real", "synthetic", "augmented", "oversampled")
MASK_KINDS = ("class", "instance", "matte")
IMAGE_MODES = ("L", "LA", "RGB", "RGBA", "I;16")

OBJECT_TYPE = pa.struct(
    [
        pa.field("label", pa.string()),
        pa.field("instance_id", pa.int32()),
        # Tight box in pixels, COCO order: x, y, width, height.
        pa.field("bbox_xywh", pa.list_(pa.float32(), 4)),
        pa.field("area", pa.float32()),
        pa.field("iscrowd", pa.bool_()),
        # Polygons as flat [x0, y0, x1, y1, ...] lists; RLE kept as COCO JSON text.
        pa.field("polygons", pa.list_(pa.list_(pa.float32()))),
        pa.field("rle_json", pa.string()),
        # Visible pixels / unoccluded pixels; null when unknown (most real data).
        pa.field("visibility", pa.float32()),
        pa.field("occluded", pa.bool_()),
    ]
)

#: Core columns in their fixed order. Everything else in a samples table is an attribute.
SAMPLE_FIELDS: tuple[pa.Field, ...] = (
    pa.field("sample_id", pa.string(), nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("label", pa.string()),
    pa.field("split", pa.string(), nullable=False),
    pa.field("image_bytes", pa.binary()),
    pa.field("image_uri", pa.string()),
    pa.field("width", pa.int32()),
    pa.field("height", pa.int32()),
    pa.field("mode", pa.string()),
    pa.field("mask_bytes", pa.binary()),
    pa.field("mask_kind", pa.string()),
    # Dense labels that renderers know exactly (null for most real data), all PNG:
    # class ids (8-bit), soft alpha matte (8-bit coverage), depth (16-bit millimetres),
    # camera-frame normals (RGB, n = v / 127.5 - 1). See docs/schema.md.
    pa.field("class_mask_bytes", pa.binary()),
    pa.field("matte_bytes", pa.binary()),
    pa.field("depth_bytes", pa.binary()),
    pa.field("normals_bytes", pa.binary()),
    pa.field("objects", pa.list_(OBJECT_TYPE)),
    pa.field("origin", pa.string()),
    pa.field("generator", pa.string(), nullable=False),
    pa.field("generator_version", pa.string(), nullable=False),
    pa.field("config_hash", pa.string(), nullable=False),
    pa.field("seed", pa.int64()),
    pa.field("parent_ids", pa.list_(pa.string()), nullable=False),
    pa.field("ingested_at", pa.timestamp("us", tz="UTC"), nullable=False),
)
SAMPLE_SCHEMA = pa.schema(SAMPLE_FIELDS)
CORE_COLUMNS = tuple(f.name for f in SAMPLE_FIELDS)
REQUIRED_COLUMNS = ("sample_id", "source", "generator", "generator_version", "config_hash")

#: Rejected input items, one row per item and reason.
REJECT_SCHEMA = pa.schema(
    [
        pa.field("reject_id", pa.string(), nullable=False),
        pa.field("format", pa.string(), nullable=False),
        pa.field("source_path", pa.string(), nullable=False),
        pa.field("item", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("message", pa.string(), nullable=False),
        pa.field("config_hash", pa.string(), nullable=False),
        pa.field("rejected_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)

_ATTRIBUTE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_SAMPLE_ID = rf"^[0-9a-f]{{{ID_HEX_CHARS}}}$"
_SPLIT_NAME = r"^[a-z][a-z0-9_-]*$"
# A workspace-relative POSIX path: no leading slash, no backslash, no '.'/'..' segment.
_SAFE_URI = r"^(?:[A-Za-z0-9_][A-Za-z0-9_.-]*/)*[A-Za-z0-9_][A-Za-z0-9_.-]*$"


def check_attribute_name(name: str, where: str = "") -> None:
    """Raise :class:`SchemaError` unless ``name`` can be an attribute column."""
    suffix = f" in {where}" if where else ""
    if name in CORE_COLUMNS:
        raise SchemaError(
            f"attribute column {name!r}{suffix} clashes with the core column of the same name; "
            "rename it (e.g. 'attr_" + name + "')"
        )
    if not _ATTRIBUTE_NAME.match(name):
        raise SchemaError(
            f"attribute column {name!r}{suffix} is not a valid name: use lower-case letters, "
            "digits and underscores, starting with a letter (e.g. 'yaw_deg', 'color_temp_k')"
        )


def _check_attribute_type(name: str, type_: pa.DataType) -> None:
    if pa.types.is_struct(type_) or pa.types.is_map(type_) or pa.types.is_union(type_):
        raise SchemaError(
            f"attribute column {name!r} has nested type {type_}; attributes must be flat "
            "(numbers, booleans, strings, timestamps, or lists/vectors of numbers)"
        )


def _fill_value(field: pa.Field, n: int, now: dt.datetime) -> pa.Array:
    """A column of ``n`` default values, built in C++ (fill_null), not from Python lists."""
    if field.name == "parent_ids":  # empty lists: all-zero offsets, no values
        return pa.ListArray.from_arrays(pa.array(np.zeros(n + 1, np.int32)),
                                        pa.array([], pa.string()))
    defaults = {"split": "unassigned", "ingested_at": now}
    column = pa.nulls(n, field.type)
    if field.name in defaults:
        column = column.fill_null(pa.scalar(defaults[field.name], field.type))
    return column


def _cast(column: pa.ChunkedArray, name: str, type_: pa.DataType) -> pa.ChunkedArray:
    if column.type == type_:
        return column
    try:
        return column.cast(type_)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise SchemaError(
            f"column {name!r} has type {column.type}, which cannot be converted to the "
            f"expected {type_}: {exc}"
        ) from None


def _first_bad_row(mask: pa.ChunkedArray) -> int:
    return int(pc.index(mask, True).as_py())


def _check_values(table: pa.Table) -> None:
    """Vectorised value checks on the core columns (no per-row Python)."""
    for name in ("sample_id", "source", "split", "generator", "generator_version", "config_hash"):
        nulls = table[name].null_count
        if nulls:
            row = _first_bad_row(table[name].is_null())
            raise SchemaError(f"column {name!r} has {nulls} null value(s), first at row {row}")
    # (column, predicate giving True for bad values, rule). Low-cardinality columns are
    # judged on their distinct values first, so a million-row batch costs a few checks.
    checks = [
        ("sample_id", lambda c: pc.invert(pc.match_substring_regex(c, _SAMPLE_ID)),
         f"must be {ID_HEX_CHARS} lower-case hex characters (see curator.hashing)"),
        ("source", lambda c: pc.invert(pc.is_in(c, pa.array(SOURCES))),
         f"must be one of {', '.join(SOURCES)}"),
        ("split", lambda c: pc.invert(pc.match_substring_regex(c, _SPLIT_NAME)),
         "must be a lower-case name such as 'train', 'val', 'test' or 'unassigned'"),
        ("mask_kind", lambda c: pc.invert(pc.is_in(c, pa.array(MASK_KINDS))),
         f"must be one of {', '.join(MASK_KINDS)} (or null)"),
        ("mode", lambda c: pc.invert(pc.is_in(c, pa.array(IMAGE_MODES))),
         f"must be one of {', '.join(IMAGE_MODES)} (or null)"),
        ("image_uri", lambda c: pc.invert(pc.match_substring_regex(c, _SAFE_URI)),
         "must be a relative path inside the workspace (no '..', no leading '/')"),
    ]
    for name, is_bad, rule in checks:
        column = table[name]
        if column.null_count == len(column):
            continue
        if name != "sample_id":
            distinct = pc.drop_null(pc.unique(column))
            if not pc.any(is_bad(distinct)).as_py():
                continue
        # Nulls are allowed here (required columns were checked above); only values are judged.
        bad = pc.fill_null(pc.and_kleene(column.is_valid(), is_bad(column)), False)
        if pc.any(bad).as_py():
            row = _first_bad_row(bad)
            raise SchemaError(f"column {name!r} row {row}: value {column[row].as_py()!r} {rule}")
    for name in ("width", "height"):
        bad = pc.fill_null(pc.less_equal(table[name], 0), False)
        if pc.any(bad).as_py():
            row = _first_bad_row(bad)
            raise SchemaError(f"column {name!r} row {row}: must be a positive pixel count")
    both = pc.and_(table["image_bytes"].is_valid(), table["image_uri"].is_valid())
    if pc.any(both).as_py():
        row = _first_bad_row(both)
        raise SchemaError(f"row {row}: set image_bytes or image_uri, not both")
    n_unique = pc.count_distinct(table["sample_id"]).as_py()
    if n_unique != table.num_rows:
        counts = pc.value_counts(table["sample_id"])
        dup = next(v["values"] for v in counts.to_pylist() if v["counts"] > 1)
        raise SchemaError(
            f"column 'sample_id' must be unique within a batch; {table.num_rows - n_unique} "
            f"duplicate(s), e.g. {dup!r}"
        )


def conform_samples(
    table: pa.Table,
    existing: Mapping[str, pa.DataType] | None = None,
    *,
    now: dt.datetime | None = None,
) -> pa.Table:
    """Return ``table`` in the workspace sample schema, or raise :class:`SchemaError`.

    Parameters
    ----------
    table
        Rows to write. Core columns may be missing if they have defaults; required ones
        (``sample_id``, ``source``, ``generator``, ``generator_version``, ``config_hash``)
        may not. Any other column is an attribute.
    existing
        Attribute types already in the workspace; a new batch is cast to them so one
        attribute keeps one type across shards.
    now
        Timestamp for a missing ``ingested_at`` (defaults to the current UTC time).
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in table.column_names]
    if missing:
        raise SchemaError(
            f"samples table lacks required column(s) {', '.join(missing)}; "
            f"see docs/schema.md for the sample schema"
        )
    dupes = {c for c in table.column_names if table.column_names.count(c) > 1}
    if dupes:
        raise SchemaError(f"samples table has duplicate column name(s): {sorted(dupes)}")
    now = now or dt.datetime.now(dt.timezone.utc)
    n = table.num_rows
    columns: list[pa.ChunkedArray | pa.Array] = []
    fields: list[pa.Field] = []
    for field in SAMPLE_FIELDS:
        if field.name in table.column_names:
            columns.append(_cast(table[field.name], field.name, field.type))
        else:
            columns.append(_fill_value(field, n, now))
        fields.append(field)
    existing = existing or {}
    for name in table.column_names:
        if name in CORE_COLUMNS:
            continue
        check_attribute_name(name)
        column = table[name]
        _check_attribute_type(name, column.type)
        target = existing.get(name)
        if target is not None and not pa.types.is_null(target):
            column = _cast(column, name, target)
        columns.append(column)
        fields.append(pa.field(name, column.type))
    out = pa.Table.from_arrays(columns, schema=pa.schema(fields))
    _check_values(out)
    return out


def split_core_and_attributes(schema: pa.Schema) -> tuple[list[str], list[str]]:
    """Return (core column names, attribute column names) present in ``schema``."""
    core = [n for n in schema.names if n in CORE_COLUMNS]
    attrs = [n for n in schema.names if n not in CORE_COLUMNS]
    return core, attrs
