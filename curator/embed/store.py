"""Named embeddings on disk: ``embeddings/<name>/`` holds vectors, config and fitted state.

``embedding.json`` records the backend, version, parameters and config hash; ``state.npz``
the fitted arrays (loaded with ``allow_pickle=False``); ``vectors/`` sharded Parquet with
``sample_id`` and a fixed-size float32 ``vector`` column. Readers get an :class:`Embedding`.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from curator.embed.base import EmbeddingError
from curator.fileio import atomic_write_bytes
from curator.hashing import config_hash
from curator.store import ShardedTable, Workspace

META_FILE = "embedding.json"
STATE_FILE = "state.npz"
VECTORS_DIR = "vectors"
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


def check_embedding_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise EmbeddingError(
            f"embedding name {name!r} is not allowed: use 1-64 lowercase letters, digits, "
            "'_' or '-', starting with a letter (e.g. 'pixels', 'cnn-objects')")
    return name


def vector_schema(dim: int) -> pa.Schema:
    return pa.schema([pa.field("sample_id", pa.string(), nullable=False),
                      pa.field("vector", pa.list_(pa.float32(), dim), nullable=False)])


def vectors_table(ids: Sequence[str], vectors: np.ndarray) -> pa.Table:
    """An Arrow table of ``sample_id`` and fixed-size ``vector`` rows."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = vectors.shape[1]
    flat = pa.array(vectors.reshape(-1), pa.float32())
    column = pa.FixedSizeListArray.from_arrays(flat, dim)
    return pa.Table.from_arrays([pa.array(list(ids), pa.string()), column],
                                schema=vector_schema(dim))


def table_vectors(table: pa.Table, dim: int) -> np.ndarray:
    """The ``vector`` column of ``table`` as an (n, dim) float32 array."""
    if table.num_rows == 0:
        return np.zeros((0, dim), np.float32)
    column = table.column("vector").combine_chunks()
    return column.values.to_numpy(zero_copy_only=False).reshape(-1, dim)


@dataclass(frozen=True)
class EmbeddingInfo:
    """What ``embedding.json`` says about a named embedding."""

    name: str
    backend: str
    version: str
    params: dict[str, Any]
    config_hash: str
    dim: int
    filters: list[list[Any]] | None = None
    fit: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2, sort_keys=True, default=str) + "\n"


@dataclass
class Embedding:
    """Vectors of one named embedding in row order, with their sample ids."""

    info: EmbeddingInfo
    ids: np.ndarray
    vectors: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def fingerprint(self) -> str:
        """Changes whenever the embedding's config or its set of rows changes."""
        return config_hash([self.info.config_hash, len(self.ids),
                            str(self.ids[0]) if len(self.ids) else "",
                            str(self.ids[-1]) if len(self.ids) else ""])

    def positions(self, sample_ids: Sequence[str]) -> np.ndarray:
        """Row positions of ``sample_ids``; names the first id this embedding lacks."""
        lookup = {sid: i for i, sid in enumerate(self.ids.tolist())}
        out = np.empty(len(sample_ids), np.int64)
        for j, sid in enumerate(sample_ids):
            pos = lookup.get(sid)
            if pos is None:
                raise EmbeddingError(
                    f"sample {sid} has no vector in embedding {self.info.name!r}; run "
                    f"`curator embed {self.info.backend} --name {self.info.name}` to add "
                    "new samples")
            out[j] = pos
        return out


class EmbeddingStore:
    """One named embedding folder of a workspace."""

    def __init__(self, ws: Workspace, name: str) -> None:
        self.ws = ws
        self.name = check_embedding_name(name)
        self.directory = ws.root / "embeddings" / name

    @property
    def vectors(self) -> ShardedTable:
        return ShardedTable(self.directory / VECTORS_DIR)

    def exists(self) -> bool:
        return (self.directory / META_FILE).is_file()

    def info(self) -> EmbeddingInfo:
        path = self.directory / META_FILE
        try:
            meta = json.loads(path.read_text())
            return EmbeddingInfo(**meta)
        except FileNotFoundError:
            raise EmbeddingError(
                f"no embedding named {self.name!r} in {self.ws.root}; make one with "
                f"`curator embed pixels --name {self.name} -w {self.ws.root}` "
                f"(have: {', '.join(list_embeddings(self.ws)) or 'none'})") from None
        except (json.JSONDecodeError, TypeError, UnicodeDecodeError) as exc:
            raise EmbeddingError(f"{path} is damaged ({exc}); rebuild with --refit") from None

    def state(self) -> dict[str, np.ndarray]:
        path = self.directory / STATE_FILE
        if not path.is_file():
            return {}
        try:
            with np.load(path, allow_pickle=False) as data:
                return {k: data[k] for k in data.files}
        except (OSError, ValueError) as exc:
            raise EmbeddingError(f"{path} is damaged ({exc}); rebuild with --refit") from None

    def write_meta(self, info: EmbeddingInfo, state: dict[str, np.ndarray]) -> None:
        """Write state then config, each atomically (config last: it marks completion)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if state:
            buf = io.BytesIO()
            np.savez(buf, **state)
            atomic_write_bytes(self.directory / STATE_FILE, buf.getvalue())
        atomic_write_bytes(self.directory / META_FILE, info.to_json().encode())

    def done_ids(self) -> set[str]:
        """Ids of the samples that already have a vector."""
        return self.vectors.id_set()

    def remove(self) -> None:
        """Delete this embedding (moved aside first, so a crash never leaves half a folder)."""
        if self.directory.exists():
            trash = self.directory.with_name(f".trash-{self.name}-{uuid.uuid4().hex[:8]}")
            self.directory.rename(trash)
            shutil.rmtree(trash, ignore_errors=True)

    def _read_all(self, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """Ids and vectors, streamed shard by shard into preallocated arrays: the peak is
        the result plus one batch, not the Arrow table plus its copy."""
        if not self.vectors.shards():
            return np.empty(0, object), np.zeros((0, dim), np.float32)
        dataset = self.vectors.dataset()  # one snapshot of the shards for count and scan
        n = dataset.count_rows()
        ids = np.empty(n, object)
        vectors = np.empty((n, dim), np.float32)
        at = 0
        scan = dataset.scanner(columns=["sample_id", "vector"], batch_size=65_536,
                               fragment_readahead=1, batch_readahead=1)
        for batch in scan.to_batches():
            m = batch.num_rows
            ids[at:at + m] = batch.column(0).to_numpy(zero_copy_only=False)
            vectors[at:at + m] = batch.column(1).flatten().to_numpy(
                zero_copy_only=False).reshape(m, dim)
            at += m
        if at != n:
            raise EmbeddingError(f"embedding {self.name!r} changed while it was read "
                                 f"({at} of {n} rows); read it again")
        return ids, vectors

    def load(self, sample_ids: Sequence[str] | None = None) -> Embedding:
        """All vectors (or those of ``sample_ids``, in that order) as one array."""
        info = self.info()
        ids, vectors = self._read_all(info.dim)
        emb = Embedding(info, ids, vectors)
        if sample_ids is None:
            return emb
        pos = emb.positions(sample_ids)
        return Embedding(info, emb.ids[pos], emb.vectors[pos])


def list_embeddings(ws: Workspace) -> list[str]:
    root = ws.root / "embeddings"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if _NAME.match(p.name) and (p / META_FILE).is_file())


def load_embedding(ws: Workspace, name: str, sample_ids: Sequence[str] | None = None
                   ) -> Embedding:
    """Vectors of embedding ``name`` (see :meth:`EmbeddingStore.load`)."""
    return EmbeddingStore(ws, name).load(sample_ids)

