"""CSV or Parquet tables with an image-path column and attribute columns.

Paths in the table are relative to ``root`` (default: the table's folder) and may not leave
it. Every column that is not the image, label, split or mask column becomes a typed
attribute, keeping the table's own types (a float stays a float).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from curator.errors import IngestError, SchemaError
from curator.images import DEFAULT_MAX_PIXELS, decode_file, decode_mask_file
from curator.ingest.engine import Draft, Loaded, Reject
from curator.ingest.source import Source, require_dir, require_file
from curator.paths import resolve_inside
from curator.schema import MASK_KINDS, check_attribute_name

IMAGE_COLUMN_CANDIDATES = ("image_path", "image", "path", "file_name", "filename", "file")
_SPLIT = re.compile(r"^[a-z][a-z0-9_-]*$")
_BATCH_ROWS = 8_192


def _open(path: Path) -> tuple[pa.Schema, Iterator[pa.RecordBatch], int]:
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            pf = pq.ParquetFile(path)
            return pf.schema_arrow, pf.iter_batches(batch_size=_BATCH_ROWS), pf.metadata.num_rows
        if suffix in (".csv", ".tsv", ".txt"):
            parse = pacsv.ParseOptions(delimiter="\t" if suffix == ".tsv" else ",")
            # An empty cell is a missing value (as a Parquet null), not the string ''.
            convert = pacsv.ConvertOptions(strings_can_be_null=True)
            table = pacsv.read_csv(path, parse_options=parse, convert_options=convert)
            return table.schema, iter(table.to_batches(_BATCH_ROWS)), table.num_rows
    except (pa.ArrowInvalid, OSError) as exc:
        raise IngestError(f"{path}: cannot be read as a table ({exc})") from None
    raise IngestError(f"{path}: unknown table type {suffix!r}; use .csv, .tsv or .parquet")


def _pick(schema: pa.Schema, path: Path, given: str | None, candidates: Sequence[str],
          what: str, required: bool) -> str | None:
    names = schema.names
    if given is not None:
        if given not in names:
            raise IngestError(f"{path}: {what} column {given!r} not found; columns are: "
                              f"{', '.join(names)}")
        return given
    for name in candidates:
        if name in names:
            return name
    if required:
        raise IngestError(f"{path}: no {what} column; looked for {', '.join(candidates)}. "
                          f"Columns are: {', '.join(names)}. Pass the column name explicitly")
    return None


def _attribute_type(type_: pa.DataType) -> pa.DataType:
    if pa.types.is_dictionary(type_):
        return type_.value_type
    if pa.types.is_large_string(type_):
        return pa.string()
    return type_


def read_table(
    path: Path,
    *,
    image_column: str | None = None,
    label_column: str | None = None,
    split_column: str | None = None,
    mask_column: str | None = None,
    mask_kind: str = "class",
    attributes: Sequence[str] | None = None,
    root: Path | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Source:
    """Read a CSV/TSV/Parquet table of image paths and attributes.

    ``image_column`` defaults to the first of :data:`IMAGE_COLUMN_CANDIDATES` present;
    ``label_column`` and ``split_column`` default to ``label`` and ``split`` when present.
    ``attributes`` defaults to every other column.
    """
    path = require_file(Path(path), "table")
    root = require_dir(Path(root) if root is not None else path.parent, "image root")
    if mask_kind not in MASK_KINDS:
        raise IngestError(f"mask_kind {mask_kind!r} is not one of {', '.join(MASK_KINDS)}")
    schema, _, n_rows = _open(path)
    image_col = _pick(schema, path, image_column, IMAGE_COLUMN_CANDIDATES, "image path", True)
    label_col = _pick(schema, path, label_column, ("label",), "label", False)
    split_col = _pick(schema, path, split_column, ("split",), "split", False)
    mask_col = _pick(schema, path, mask_column, (), "mask", False)
    used = {c for c in (image_col, label_col, split_col, mask_col) if c}
    if attributes is None:
        attrs = [n for n in schema.names if n not in used]
    else:
        attrs = list(attributes)
        missing = [a for a in attrs if a not in schema.names]
        if missing:
            raise IngestError(f"{path}: attribute column(s) {missing} not found; columns are: "
                              f"{', '.join(schema.names)}")
    for name in attrs:
        try:
            check_attribute_name(name, where=str(path))
        except SchemaError as exc:
            raise IngestError(str(exc)) from None
    attr_types = {a: _attribute_type(schema.field(a).type) for a in attrs}
    wanted = [image_col, *(c for c in (label_col, split_col, mask_col) if c), *attrs]

    def load(rel: str, mask_rel: str | None, where: str) -> Loaded:
        img_path = resolve_inside(root, rel, what=f"{where} image path")
        image = decode_file(img_path, where=f"{where} ({rel})", max_pixels=max_pixels)
        if mask_rel is None:
            return Loaded(image)
        mask_path = resolve_inside(root, mask_rel, what=f"{where} mask path")
        mask = decode_mask_file(mask_path, where=f"{where} mask ({mask_rel})",
                                max_pixels=max_pixels)
        return Loaded(image, mask, mask_kind)

    def items() -> Iterator[Draft | Reject]:
        _, batches, _ = _open(path)
        row_number = 0
        for batch in batches:
            for record in batch.select(wanted).to_pylist():
                row_number += 1
                where = f"row {row_number}"  # 1-based data row, header excluded
                rel = record[image_col]
                if not isinstance(rel, str) or not rel.strip():
                    yield Reject(where, "missing_value",
                                 f"{path.name} {where}: empty {image_col!r}")
                    continue
                split = record[split_col] if split_col else None
                if split is not None and not (isinstance(split, str) and _SPLIT.match(split)):
                    yield Reject(where, "bad_split",
                                 f"{path.name} {where}: split {split!r} must be a lower-case "
                                 "name such as 'train' or 'test'")
                    continue
                label = record[label_col] if label_col else None
                mask_rel = record[mask_col] if mask_col else None
                yield Draft(
                    origin=f"{where}: {rel}",
                    load=lambda r=rel, m=mask_rel, w=where: load(r, m, w),
                    label=None if label is None else str(label),
                    split=split,
                    attributes={a: record[a] for a in attrs},
                )

    config = {"image_column": image_col, "label_column": label_col, "split_column": split_col,
              "mask_column": mask_col, "mask_kind": mask_kind if mask_col else None,
              "attributes": attrs, "max_pixels": max_pixels}
    return Source("table", path, items, config=config, total=n_rows, attribute_types=attr_types)
