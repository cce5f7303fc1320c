"""Manifests: immutable, content-addressed Parquet files of a curation that training loads.

One row per sample (``sample_id``, ``source``, ``label``, ``split``, ``image_uri`` where the
image is a file under the workspace, ``weight``), and a header in the file's metadata: the
name, the selection config, the curator version and the manifest's own hash (of its rows
and config, so two identical curations get the same file and a changed one another).
Written atomically to ``WS/manifests/<name>-<hash>.parquet``; never overwritten.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from curator import __version__
from curator.errors import CuratorError
from curator.results import jsonable
from curator.store import Workspace, atomic_write_bytes
from curator.subsets import check_subset_name, rows_for

_META_KEY = b"curator.manifest"
COLUMNS = ("sample_id", "source", "label", "split", "image_uri", "weight")


class ManifestError(CuratorError):
    """A manifest cannot be written or read (unknown ids, bad file)."""


@dataclass(frozen=True)
class Manifest:
    """A manifest's rows and header (``name``, ``hash``, ``config``, ``curator_version``)."""

    path: Path
    header: dict[str, Any]
    frame: pd.DataFrame

    @property
    def hash(self) -> str:
        return self.header["hash"]


def _digest(frame: pd.DataFrame, config: Any) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(jsonable(config), sort_keys=True).encode())
    for col in COLUMNS:
        h.update(col.encode())
        h.update("\x1f".join("" if pd.isna(v) else str(v) for v in frame[col]).encode())
    return h.hexdigest()[:16]


def write_manifest(ws: Workspace, name: str, sample_ids: Any, *, weights: Any = None,
                   config: dict[str, Any] | None = None) -> Manifest:
    """The manifest of ``sample_ids`` (sorted; optional per-sample ``weights``) as
    ``manifests/<name>-<hash>.parquet``; an identical one already there is reused."""
    name = check_subset_name(name)
    ids = pd.Series(list(sample_ids), dtype=object)
    if ids.empty:
        raise ManifestError("a manifest needs at least one sample")
    if ids.duplicated().any():
        raise ManifestError(f"duplicate sample ids in the manifest, e.g. "
                            f"{ids[ids.duplicated()].iloc[0]}")
    w = pd.Series(1.0 if weights is None else list(weights), index=ids.index, dtype=float)
    frame = rows_for(ws, ids.tolist(), ["source", "label", "split", "image_uri"])
    frame["weight"] = w.to_numpy()
    frame = frame.sort_values("sample_id", kind="stable").reset_index(drop=True)[list(COLUMNS)]
    config = jsonable(config or {})
    digest = _digest(frame, config)
    header = {"name": name, "hash": digest, "config": config, "rows": len(frame),
              "curator_version": __version__}
    path = ws.root / "manifests" / f"{name}-{digest}.parquet"
    if not path.is_file():
        table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(
            {_META_KEY: json.dumps(header, sort_keys=True).encode()})
        buf = io.BytesIO()
        pq.write_table(table, buf)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buf.getvalue())
    return Manifest(path, header, frame)


def read_manifest(path: str | Path) -> Manifest:
    """A manifest file back: rows and header (its hash checked against its rows)."""
    path = Path(path)
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc}") from None
    meta = (table.schema.metadata or {}).get(_META_KEY)
    if meta is None:
        raise ManifestError(f"{path} is not a curator manifest (no header)")
    header = json.loads(meta)
    frame = table.to_pandas()
    if _digest(frame, header.get("config", {})) != header.get("hash"):
        raise ManifestError(f"manifest {path} does not match its hash: it was changed")
    return Manifest(path, header, frame)


def list_manifests(ws: Workspace) -> list[Path]:
    """The workspace's manifest files, by name."""
    folder = ws.root / "manifests"
    return sorted(folder.glob("*.parquet")) if folder.is_dir() else []
