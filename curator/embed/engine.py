"""Embed a workspace: fit once on a seeded sample, then transform only new samples, streamed.

Vectors land shard by shard (each write atomic), so an interrupted run resumes where it
stopped; a changed configuration is refused unless ``refit`` rebuilds the embedding.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from curator.embed.base import IMAGE_COLUMN, Embedder, EmbeddingError, check_vectors
from curator.embed.registry import make_embedder
from curator.embed.store import EmbeddingInfo, EmbeddingStore, vectors_table
from curator.executors import SerialExecutor, abandon, executor_name, resolve_executor
from curator.fileio import file_lock, remove_stale_temp_files
from curator.hashing import config_hash
from curator.images import decode_bytes
from curator.results import ResultMixin
from curator.store import Workspace

Progress = Callable[[int, int | None], None]
DEFAULT_SHARD_ROWS = 65_536


@dataclass(frozen=True)
class EmbedSummary(ResultMixin):
    """What one embedding run did."""

    name: str
    backend: str
    config_hash: str
    dim: int
    n_new: int
    n_total: int
    fitted: bool
    seconds: float

    def __str__(self) -> str:
        what = "fitted and embedded" if self.fitted else "embedded"
        return (f"{self.name}: {what} {self.n_new:,} new sample(s) in {self.seconds:.1f}s; "
                f"{self.n_total:,} vectors of dim {self.dim} ({self.backend}, "
                f"config {self.config_hash})")


def normalise_filters(filters: Sequence[Sequence[Any]] | None) -> list[list[Any]] | None:
    """Filters as JSON-able ``[[column, op, value], ...]`` (stored in the config)."""
    if not filters:
        return None
    out = []
    for f in filters:
        if not isinstance(f, (list, tuple)) or len(f) != 3:
            raise EmbeddingError(f"bad filter {f!r}: use (column, op, value) like "
                                 "('generator', '==', 'objects')")
        value = list(f[2]) if isinstance(f[2], (list, tuple, set)) else f[2]
        out.append([str(f[0]), str(f[1]), value])
    return out


def embedding_config_hash(embedder: Embedder, filters: list[list[Any]] | None) -> str:
    return config_hash({"embedder": embedder.config(), "filters": filters})


def _decode_images(ws: Workspace, frame: pd.DataFrame) -> pd.DataFrame:
    images, modes = [], []
    for row in frame.itertuples(index=False):
        data = row.image_bytes if isinstance(row.image_bytes, bytes) else None
        payload = ws.image_bytes({"sample_id": row.sample_id, "image_bytes": data,
                                  "image_uri": row.image_uri})
        img = decode_bytes(payload, where=f"sample {row.sample_id}")
        images.append(img.pixels)
        modes.append(img.mode)
    frame = frame.drop(columns=["image_bytes", "image_uri"])
    frame[IMAGE_COLUMN] = images
    frame["mode"] = modes
    return frame


def _read_columns(ws: Workspace, embedder: Embedder) -> list[str]:
    cols = ["sample_id"]
    for c in embedder.required_columns(ws.samples.schema()):
        if c == IMAGE_COLUMN:
            cols += ["image_bytes", "image_uri"]
        elif c not in cols:
            cols.append(c)
    return cols


def with_pixels(batch: pa.Table | pa.RecordBatch) -> pa.Table | pa.RecordBatch:
    """Rows that carry an image, when the batch was read for an image embedder: rows made in
    feature space (``source=oversampled``) have none, and their vectors come with them."""
    if "image_bytes" not in batch.schema.names:
        return batch
    return batch.filter(pc.or_(pc.is_valid(batch.column("image_bytes")),
                               pc.is_valid(batch.column("image_uri"))))


def _transform(ws: Workspace, embedder: Embedder, batch: pa.RecordBatch
               ) -> tuple[list[str], np.ndarray]:
    rows = prepare_rows(ws, embedder, batch)
    return rows["sample_id"].tolist(), embedder.transform(rows)


#: Per worker process: the embedder and workspace of the job last seen (rebuilt once).
_WORKER: dict[str, Any] = {}


def state_digest(state: dict[str, np.ndarray]) -> str:
    """A hash of fitted arrays' names, dtypes, shapes and bytes: two fits of one config
    (another seed, more data) never share a worker's cached embedder."""
    h = hashlib.sha256()
    for name in sorted(state):
        arr = np.ascontiguousarray(state[name])
        h.update(f"{name}|{arr.dtype.str}|{arr.shape}|".encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def _transform_job(job: tuple[tuple[str, str, dict[str, Any], dict[str, np.ndarray]],
                              pa.RecordBatch]) -> tuple[list[str], np.ndarray]:
    """A batch's vectors in a worker (local pool or Ray): the embedder is rebuilt from its
    backend, parameters and fitted arrays (no pickled objects), once per process."""
    (root, backend, params, state, digest), batch = job
    key = config_hash([root, backend, params, digest])  # the fitted arrays' bytes, too
    if _WORKER.get("key") != key:
        from curator.store import open_workspace

        _WORKER.update(key=key, ws=open_workspace(root),
                       embedder=make_embedder(backend, **params).set_state(state))
    return _transform(_WORKER["ws"], _WORKER["embedder"], batch)


def prepare_rows(ws: Workspace, embedder: Embedder, batch: pa.Table | pa.RecordBatch
                 ) -> pd.DataFrame:
    """Sample rows as the embedder expects them (images decoded when it asks for them)."""
    frame = batch.to_pandas()
    if "image_bytes" in frame.columns and "image_uri" in frame.columns:
        frame = _decode_images(ws, frame)
    return frame


def fitted_embedder(ws: Workspace, name: str) -> Embedder:
    """The embedder of embedding ``name`` with its fitted state: new images transformed by it
    share the basis of the stored vectors."""
    store = EmbeddingStore(ws, name)
    info = store.info()
    return make_embedder(info.backend, **info.params).set_state(store.state())


def embed_rows(ws: Workspace, embedder: Embedder, filters: Sequence[Sequence[Any]] | None = None,
               *, batch_size: int = 512) -> tuple[list[str], np.ndarray]:
    """Ids and vectors of the samples of ``ws`` matching ``filters``, transformed in this
    process by a fitted ``embedder`` and returned, not stored."""
    scan = [tuple(f) for f in filters] if filters else None
    ids: list[str] = []
    parts: list[np.ndarray] = []
    for batch in ws.samples.iter_batches(_read_columns(ws, embedder), scan, batch_size):
        batch = with_pixels(batch)
        if batch.num_rows:
            got, vecs = _transform(ws, embedder, batch)
            ids += got
            parts.append(check_vectors(vecs, where=f"{embedder.name} embedder output"))
    if not parts:
        raise EmbeddingError(f"no samples to embed in {ws.root}")
    return ids, np.concatenate(parts)


def _fit_batches(ws: Workspace, embedder: Embedder, filters, fit_samples: int,
                 random_state: int, batch_size: int) -> tuple[Iterator[pd.DataFrame], int]:
    """The seeded fit sample (drawn from the sorted ids), streamed as prepared batches."""
    ids = ws.samples.to_table(["sample_id"], filters).column("sample_id").to_pylist()
    if not ids:
        raise EmbeddingError(f"no samples to fit the {embedder.name!r} embedder on in "
                             f"{ws.root}" + (f" matching {filters}" if filters else ""))
    ids.sort()
    rng = np.random.default_rng(random_state)
    if len(ids) > fit_samples:
        chosen = sorted(rng.choice(len(ids), size=fit_samples, replace=False).tolist())
        ids = [ids[i] for i in chosen]
    columns = _read_columns(ws, embedder)

    def batches() -> Iterator[pd.DataFrame]:
        # One streaming pass over the workspace; only the chosen rows are decoded.
        chosen_ids = pc.field("sample_id").isin(pa.array(ids, pa.string()))
        for batch in ws.samples.iter_batches(columns, chosen_ids, batch_size):
            batch = with_pixels(batch)
            if batch.num_rows:
                yield prepare_rows(ws, embedder, batch)

    return batches(), len(ids)


def embed_workspace(
    ws: Workspace,
    embedder: Embedder,
    *,
    name: str | None = None,
    filters: Sequence[Sequence[Any]] | None = None,
    refit: bool = False,
    fit_samples: int = 10_000,
    random_state: int = 0,
    batch_size: int = 512,
    shard_rows: int = DEFAULT_SHARD_ROWS,
    progress: Progress | None = None,
    executor: str | None = None,
    workers: int | None = None,
) -> EmbedSummary:
    """Embed the samples of ``ws`` (those matching ``filters``) into embedding ``name``.

    Parameters
    ----------
    embedder
        A backend from :mod:`curator.embed` (unfitted or fitted).
    name
        Embedding name under ``embeddings/`` (default: the backend's name).
    filters
        ``[(column, op, value), ...]`` restricting which samples get vectors.
    refit
        Rebuild from scratch (needed when the configuration changed).
    fit_samples, random_state
        Fit on at most this many samples, drawn with this seed (sorted by id first, so
        the draw does not depend on the order rows were ingested).
    batch_size
        Rows per transform call; ``shard_rows`` rows per atomic vector shard.
    progress
        Called as ``progress(done, total)`` after each batch.
    executor, workers
        Where batches are transformed (:mod:`curator.executors`): by default in this
        process; ``workers`` > 1 uses a local process pool, ``executor="ray"`` (or
        ``RAY_ADDRESS``) Ray tasks, ``workers`` of them in flight or, unset, the cluster's
        CPUs (the workspace must be on storage the workers see). Same vectors either way.
    """
    start = time.perf_counter()
    store = EmbeddingStore(ws, name or embedder.name)
    filters = normalise_filters(filters)
    wanted = embedding_config_hash(embedder, filters)
    scan = [tuple(f) for f in filters] if filters else None
    store.directory.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(store.directory.parent / f".{store.name}.lock", what=f"embedding "
                   f"{store.name!r}"):
        if store.exists():
            info = store.info()
            if refit:
                store.remove()
            elif info.config_hash != wanted:
                raise EmbeddingError(
                    f"embedding {store.name!r} was made with other settings ({info.backend}, "
                    f"config {info.config_hash}: {info.params}, filters {info.filters}); "
                    "pass --refit to rebuild it, or choose another --name to keep both")
            else:
                embedder.set_state(store.state())
        fitted = False
        if not store.exists():
            fit_info: dict[str, Any] = {}
            if embedder.requires_fit:
                batches, n_fit = _fit_batches(ws, embedder, scan, fit_samples, random_state,
                                              batch_size)
                embedder.fit_batches(batches)
                fit_info = {"n_samples": n_fit, "random_state": random_state}
                fitted = True
            probe = None  # the first embeddable row (streamed, not the whole table)
            for batch in ws.samples.iter_batches(_read_columns(ws, embedder), scan, 64):
                batch = with_pixels(batch)
                if batch.num_rows:
                    probe = batch.slice(0, 1)
                    break
            if probe is None:
                raise EmbeddingError(f"no samples to embed in {ws.root}"
                                     + (f" matching {filters}" if filters else ""))
            dim = int(embedder.transform(prepare_rows(ws, embedder, probe)).shape[1])
            cfg = embedder.config()
            info = EmbeddingInfo(name=store.name, backend=embedder.name,
                                 version=embedder.version, params=cfg["params"],
                                 config_hash=wanted, dim=dim, filters=filters, fit=fit_info)
            store.write_meta(info, embedder.get_state())
        info = store.info()
        if store.vectors.directory.is_dir():
            remove_stale_temp_files(store.vectors.directory)
        done = store.done_ids()
        done_ids = pa.array(sorted(done), pa.string())
        total = ws.samples.count(scan) - len(done)
        pending_ids: list[str] = []
        pending_vecs: list[np.ndarray] = []
        n_new = 0

        def flush() -> None:
            if pending_ids:
                store.vectors.write_shard(vectors_table(pending_ids, np.concatenate(pending_vecs)))
                pending_ids.clear()
                pending_vecs.clear()

        def todo() -> Iterator[pa.RecordBatch]:
            for batch in ws.samples.iter_batches(_read_columns(ws, embedder), scan,
                                                 batch_size):
                if done:
                    keep = pc.invert(pc.is_in(batch.column("sample_id"), value_set=done_ids))
                    batch = batch.filter(keep)
                batch = with_pixels(batch)
                if batch.num_rows:
                    yield batch

        where = executor_name(executor)
        # Locally one process unless asked; on Ray, unset workers means the cluster's CPUs.
        runner = resolve_executor(where, 1 if workers is None and where == "local" else workers)
        if isinstance(runner, SerialExecutor):  # in this process, with this embedder
            results = (_transform(ws, embedder, b) for b in todo())
        else:  # each worker rebuilds the embedder from its config and fitted state once
            state = embedder.get_state()
            recipe = (str(ws.root), info.backend, embedder.config()["params"], state,
                      state_digest(state))
            results = runner.map(_transform_job, ((recipe, b) for b in todo()))
        try:
            for ids, vecs in results:
                vecs = check_vectors(vecs, where=f"{info.backend} embedder output")
                if vecs.shape != (len(ids), info.dim):
                    raise EmbeddingError(f"the {info.backend!r} embedder returned shape "
                                         f"{vecs.shape} for {len(ids)} rows; expected "
                                         f"({len(ids)}, {info.dim})")
                pending_ids.extend(ids)
                pending_vecs.append(vecs)
                n_new += len(ids)
                if len(pending_ids) >= shard_rows:
                    flush()
                if progress is not None:
                    progress(n_new, max(total, n_new))
        except BaseException:
            if not isinstance(runner, SerialExecutor):
                abandon(results)  # stop the workers now; a broken pool is not kept
            raise
        flush()
    return EmbedSummary(name=store.name, backend=info.backend, config_hash=info.config_hash,
                        dim=info.dim, n_new=n_new, n_total=len(done) + n_new, fitted=fitted,
                        seconds=time.perf_counter() - start)
