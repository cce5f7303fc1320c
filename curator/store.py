"""The workspace store: a directory of sharded Parquet tables, written atomically, read as a stream.

A workspace holds ``samples/`` and ``rejects/`` (later ``embeddings/``, ``index/``,
``manifests/``, ``reports/``) plus ``media/`` for images too large to inline. Each write
becomes one new shard (temp file + rename); reads go through ``pyarrow.dataset``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from curator.errors import PathEscapeError, SchemaError, WorkspaceError
from curator.fileio import (
    TMP_PREFIX,
    atomic_write_bytes,
    file_lock,
    fsync_dir,
    remove_stale_temp_files,
)
from curator.hashing import text_id
from curator.paths import resolve_inside
from curator.results import ResultMixin
from curator.schema import CORE_COLUMNS, REJECT_SCHEMA, SAMPLE_SCHEMA, conform_samples
from curator.version import __version__

WORKSPACE_FILE = "workspace.json"
WORKSPACE_FORMAT = "curator-workspace"
WORKSPACE_VERSION = 1
TABLE_DIRS = ("samples", "rejects", "embeddings", "index", "manifests", "reports", "media")
DEFAULT_SHARD_ROWS = 65_536
ROW_GROUP_ROWS = 8_192
_SHARD_NAME = re.compile(r"^part-(\d{8})-[0-9a-f]{8}\.parquet$")

Filters = ds.Expression | Sequence[Any] | None
# Without pre-buffering the reader holds one row group's pages at a time, which keeps a
# streaming scan's peak memory near one shard instead of several (local disks lose nothing).
_PARQUET = ds.ParquetFileFormat(
    default_fragment_scan_options=ds.ParquetFragmentScanOptions(pre_buffer=False))


def _to_expression(filters: Filters) -> ds.Expression | None:
    if filters is None or isinstance(filters, ds.Expression):
        return filters
    try:
        return pq.filters_to_expression(filters)
    except (TypeError, ValueError) as exc:
        raise SchemaError(
            f"bad filters {filters!r}: use a pyarrow.dataset expression or a list of "
            f"(column, op, value) tuples like [('label', '==', '3')] ({exc})"
        ) from None


class ShardedTable:
    """One logical table stored as ``part-NNNNNNNN-xxxxxxxx.parquet`` shards in a folder."""

    def __init__(self, directory: Path, *, base_schema: pa.Schema | None = None) -> None:
        self.directory = directory
        self.base_schema = base_schema
        self._schema_cache: tuple[tuple[tuple[str, int, int], ...], pa.Schema] | None = None

    # -- layout -----------------------------------------------------------------------------
    def shards(self) -> list[Path]:
        """Committed shards in write order (temp files from interrupted writes are ignored)."""
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.iterdir() if _SHARD_NAME.match(p.name))

    # -- schema -----------------------------------------------------------------------------
    def schema(self) -> pa.Schema:
        """The union of all shard schemas (cached until the shard set changes)."""
        shards = self.shards()
        key = tuple((p.name, *self._stat(p)) for p in shards)
        if self._schema_cache and self._schema_cache[0] == key:
            return self._schema_cache[1]
        schemas = [self.base_schema] if self.base_schema is not None else []
        for path in shards:
            try:
                schemas.append(pq.read_schema(path))
            except (pa.ArrowInvalid, OSError) as exc:
                raise WorkspaceError(
                    f"shard {path} is unreadable ({exc}); it may be truncated or corrupt. "
                    "Move it out of the workspace to keep the rest readable"
                ) from None
        if not schemas:
            return pa.schema([])
        try:
            schema = pa.unify_schemas(schemas, promote_options="permissive")
        except (pa.ArrowTypeError, pa.ArrowInvalid) as exc:
            raise WorkspaceError(
                f"shards in {self.directory} disagree on a column's type ({exc}); "
                "move the newest shard out of the workspace and re-ingest it"
            ) from None
        self._schema_cache = (key, schema)
        return schema

    @staticmethod
    def _stat(path: Path) -> tuple[int, int]:
        st = path.stat()
        return st.st_size, st.st_mtime_ns

    # -- reading ----------------------------------------------------------------------------
    def dataset(self) -> ds.Dataset:
        """A lazy ``pyarrow.dataset`` over all shards with the unified schema."""
        schema = self.schema()
        return ds.dataset([str(p) for p in self.shards()], schema=schema, format=_PARQUET)

    def _check_columns(self, columns: Sequence[str] | None) -> list[str] | None:
        if columns is None:
            return None
        names = self.schema().names
        unknown = [c for c in columns if c not in names]
        if unknown:
            raise SchemaError(
                f"unknown column(s) {unknown} in {self.directory.name}; "
                f"available: {', '.join(names)}"
            )
        return list(columns)

    def scanner(self, columns: Sequence[str] | None = None, filters: Filters = None,
                batch_size: int = ROW_GROUP_ROWS) -> ds.Scanner:
        """A streaming scanner reading one shard at a time (bounded memory)."""
        return self.dataset().scanner(
            columns=self._check_columns(columns),
            filter=_to_expression(filters),
            batch_size=batch_size,
            fragment_readahead=1,
            batch_readahead=1,
        )

    def iter_batches(self, columns: Sequence[str] | None = None, filters: Filters = None,
                     batch_size: int = ROW_GROUP_ROWS) -> Iterator[pa.RecordBatch]:
        """Stream record batches; never holds more than about one shard in memory."""
        if not self.shards():
            return
        yield from self.scanner(columns, filters, batch_size).to_batches()

    def to_table(self, columns: Sequence[str] | None = None, filters: Filters = None) -> pa.Table:
        """Read (a projection of) the table into memory as one Arrow table."""
        if not self.shards():
            schema = self.schema()
            if columns is not None:
                schema = pa.schema([schema.field(c) for c in self._check_columns(columns)])
            return schema.empty_table()
        return self.dataset().to_table(
            columns=self._check_columns(columns), filter=_to_expression(filters)
        )

    def id_set(self, column: str = "sample_id") -> set[str]:
        """Every value of ``column`` (an id column), streamed: only that column is read."""
        ids: set[str] = set()
        for batch in self.iter_batches(columns=[column], batch_size=262_144):
            ids.update(batch.column(0).to_pylist())
        return ids

    def count(self, filters: Filters = None) -> int:
        if not self.shards():
            return 0
        return self.dataset().count_rows(filter=_to_expression(filters))

    # -- writing ----------------------------------------------------------------------------
    def next_sequence(self) -> int:
        numbers = [int(_SHARD_NAME.match(p.name).group(1)) for p in self.shards()]
        return max(numbers, default=-1) + 1

    def write_shard(self, table: pa.Table) -> Path:
        """Write ``table`` as one new shard, atomically. Caller holds the workspace lock."""
        return self.write_shards([table])[0]

    def write_shards(self, tables: Sequence[pa.Table], max_workers: int | None = None
                     ) -> list[Path]:
        """Write each table as one new shard, several at a time; each shard is atomic.

        Parquet encoding releases the GIL, so shards are encoded in parallel threads; each
        is written to a temp file, fsynced, then renamed in order. Caller holds the lock.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        first = self.next_sequence()
        finals = [self.directory / f"part-{first + i:08d}-{uuid.uuid4().hex[:8]}.parquet"
                  for i in range(len(tables))]
        tmps = [p.with_name(TMP_PREFIX + p.name) for p in finals]

        def encode(i: int) -> None:
            # Small row groups keep a streaming scan's memory well below one shard.
            pq.write_table(tables[i], tmps[i], row_group_size=ROW_GROUP_ROWS)
            with open(tmps[i], "rb+") as fh:
                os.fsync(fh.fileno())

        workers = max_workers or max(1, min(len(tables), os.cpu_count() or 1, 8))
        try:
            with ThreadPoolExecutor(workers) as pool:
                # map yields in order, so shards are committed in sequence order.
                for i, _ in enumerate(pool.map(encode, range(len(tables)))):
                    os.replace(tmps[i], finals[i])
        finally:
            for tmp in tmps:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
        fsync_dir(self.directory)
        return finals


@dataclass(frozen=True)
class WorkspaceInfo(ResultMixin):
    """What ``curator info`` shows: sizes and counts of a workspace."""

    root: Path
    n_samples: int
    n_rejects: int
    n_shards: int
    bytes_on_disk: int
    counts: pd.DataFrame

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))  # a str when read back from JSON

    def result_fields(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name != "counts"}


@dataclass(frozen=True)
class WorkspaceMarker:
    """What a workspace's ``workspace.json`` records: who it is and which format it is in."""

    workspace_id: str | None
    version: int | None  # the workspace format version
    created_at: str | None = None
    created_by: str | None = None


class Workspace:
    """A curator workspace directory. Create with :func:`init_workspace`, open with
    :func:`open_workspace`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.samples = ShardedTable(root / "samples", base_schema=SAMPLE_SCHEMA)
        self.rejects = ShardedTable(root / "rejects", base_schema=REJECT_SCHEMA)
        # Large images live in media/<2 hex>/; their temp files are staged in media/ itself,
        # so cleaning up after a killed writer never lists the image files.
        self.media_dir = root / "media"

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    # -- reading samples ----------------------------------------------------------------------
    def to_table(self, columns: Sequence[str] | None = None, filters: Filters = None) -> pa.Table:
        """Samples as an Arrow table, with optional column projection and row filters.

        ``filters`` is a ``pyarrow.dataset`` expression (``pc.field("label") == "3"``) or
        a list of tuples as in :func:`pandas.read_parquet` (``[("source", "==", "real")]``).
        """
        return self.samples.to_table(columns, filters)

    def to_pandas(self, columns: Sequence[str] | None = None, filters: Filters = None
                  ) -> pd.DataFrame:
        """Samples as a pandas DataFrame (project away ``image_bytes`` for big workspaces)."""
        return self.samples.to_table(columns, filters).to_pandas()

    def iter_batches(self, columns: Sequence[str] | None = None, filters: Filters = None,
                     batch_size: int = ROW_GROUP_ROWS) -> Iterator[pa.RecordBatch]:
        """Stream samples as record batches, one shard at a time."""
        return self.samples.iter_batches(columns, filters, batch_size)

    def sample_ids(self) -> set[str]:
        """All sample ids in the workspace (reads only the id column)."""
        return self.samples.id_set()

    def scalar_columns(self) -> list[str]:
        """Sample columns that hold one plain value per row: everything but pixel blobs and
        nested (list, struct) columns. What analyses read without loading images."""
        return [f.name for f in self.samples.schema()
                if not (pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)
                        or pa.types.is_nested(f.type))]

    def attribute_types(self) -> dict[str, pa.DataType]:
        schema = self.samples.schema()
        return {f.name: f.type for f in schema if f.name not in CORE_COLUMNS}

    def image_bytes(self, row: Mapping[str, Any]) -> bytes:
        """The encoded image of a sample row (inline bytes or the file under ``media/``)."""
        if row.get("image_bytes") is not None:
            return row["image_bytes"]
        uri = row.get("image_uri")
        if uri is None:
            raise WorkspaceError(f"sample {row.get('sample_id')} has no image")
        try:
            return resolve_inside(self.root, uri, what="image_uri").read_bytes()
        except PathEscapeError:
            raise
        except OSError as exc:
            raise WorkspaceError(
                f"sample {row.get('sample_id')}: cannot read {uri}: {exc}") from None

    # -- writing ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def write_lock(self, timeout_s: float = 600.0) -> Iterator[None]:
        """Hold the workspace's single-writer lock; concurrent writers wait their turn."""
        with file_lock(self.root / ".lock", timeout_s=timeout_s, what=str(self.root)):
            for folder in (self.samples.directory, self.rejects.directory, self.media_dir):
                remove_stale_temp_files(folder)
            yield

    def append_samples(self, table: pa.Table, *, shard_rows: int = DEFAULT_SHARD_ROWS,
                       skip_existing: bool = True) -> int:
        """Validate and append sample rows; returns the number of rows written.

        Rows whose ``sample_id`` is already in the workspace are skipped when
        ``skip_existing`` (the default), so appends are idempotent. Each chunk of at most
        ``shard_rows`` rows becomes one atomic shard.
        """
        return len(self.append_new_samples(table, shard_rows=shard_rows,
                                           skip_existing=skip_existing))

    def append_new_samples(self, table: pa.Table, *, shard_rows: int = DEFAULT_SHARD_ROWS,
                           skip_existing: bool = True) -> pa.Array:
        """:meth:`append_samples`, returning the ids of the rows it wrote (decided under the
        write lock, so exact even with concurrent writers)."""
        table = conform_samples(table, self.attribute_types())
        with self.write_lock():
            if skip_existing and self.samples.shards():
                known = pa.array(list(self.sample_ids()), pa.string())
                table = table.filter(pc.invert(pc.is_in(table["sample_id"], value_set=known)))
            chunks = [table.slice(s, shard_rows) for s in range(0, table.num_rows, shard_rows)]
            self.samples.write_shards(chunks)
        return table["sample_id"].combine_chunks()

    def marker(self) -> WorkspaceMarker:
        """The workspace's id and format version, read from (and checked in) its marker
        file: the only reader of ``workspace.json``."""
        meta = _read_marker(self.root)
        return WorkspaceMarker(meta.get("workspace_id"), meta.get("version"),
                               meta.get("created_at"), meta.get("created_by"))

    def info(self) -> WorkspaceInfo:
        """Counts by source, label and split (reads only those columns)."""
        shards = self.samples.shards()
        size = sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())
        cols = ["source", "label", "split"]
        if shards:
            counts = (self.samples.to_table(cols).group_by(cols, use_threads=False)
                      .aggregate([([], "count_all")]).to_pandas()
                      .rename(columns={"count_all": "count"})
                      .sort_values(cols, na_position="last").reset_index(drop=True))
        else:
            counts = pd.DataFrame(columns=[*cols, "count"])
        return WorkspaceInfo(self.root, self.samples.count(), self.rejects.count(), len(shards),
                             size, counts)


def _read_marker(root: Path) -> dict[str, Any]:
    marker = root / WORKSPACE_FILE
    try:
        meta = json.loads(marker.read_text())
    except FileNotFoundError:
        raise WorkspaceError(
            f"{root} is not a curator workspace (no {WORKSPACE_FILE}); "
            f"create one with `curator init {root}`"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WorkspaceError(
            f"{marker} is damaged ({exc}); it should be a small JSON file") from None
    if meta.get("format") != WORKSPACE_FORMAT:
        raise WorkspaceError(f"{marker} does not describe a curator workspace")
    if int(meta.get("version", 0)) > WORKSPACE_VERSION:
        raise WorkspaceError(
            f"{root} was written by a newer curator (workspace format {meta.get('version')}); "
            f"this is curator {__version__}, which reads format {WORKSPACE_VERSION}: upgrade"
        )
    return meta


def init_workspace(path: str | os.PathLike[str], *, exist_ok: bool = False) -> Workspace:
    """Create a workspace at ``path`` (which must be empty or absent) and return it."""
    root = Path(path).expanduser().absolute()
    if (root / WORKSPACE_FILE).exists():
        if exist_ok:
            return open_workspace(root)
        raise WorkspaceError(f"{root} is already a curator workspace")
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise WorkspaceError(
            f"{root} exists and is not an empty directory; choose a new path for the workspace"
        )
    root.mkdir(parents=True, exist_ok=True)
    for name in TABLE_DIRS:
        (root / name).mkdir(exist_ok=True)
    meta = {
        "format": WORKSPACE_FORMAT,
        "version": WORKSPACE_VERSION,
        "workspace_id": text_id(str(uuid.uuid4())),
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "created_by": f"curator {__version__}",
    }
    atomic_write_bytes(root / WORKSPACE_FILE, (json.dumps(meta, indent=2) + "\n").encode())
    return Workspace(root)


def open_workspace(path: str | os.PathLike[str]) -> Workspace:
    """Open an existing workspace, checking its marker file."""
    root = Path(path).expanduser().absolute()
    if not root.is_dir():
        raise WorkspaceError(
            f"workspace {root} does not exist; create one with `curator init {root}`"
        )
    _read_marker(root)
    return Workspace(root)
