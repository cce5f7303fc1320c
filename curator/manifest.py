"""Manifests: immutable, content-addressed Parquet files of a curation that training loads.

One row per sample (``sample_id``, ``source``, ``label``, ``split``, ``image_uri`` where the
image is a file under the workspace, ``width``, ``height``, ``weight``, and ``objects``:
the boxes and masks of each object), and a header in the file's metadata: the name, the
selection config, the workspace (id, format version, sample count), the curator version and
the manifest's own hash (of its rows and config, so two identical curations get the same
file and a changed one another).
Written atomically to ``WS/manifests/<name>-<hash>.parquet``; never overwritten.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from curator.errors import CuratorError
from curator.fileio import atomic_write_bytes
from curator.results import jsonable
from curator.store import Workspace
from curator.subsets import check_subset_name, rows_for
from curator.version import __version__

_META_KEY = b"curator.manifest"
COLUMNS = ("sample_id", "source", "label", "split", "image_uri", "width", "height", "weight",
           "objects")
#: Columns the hash covers as text (``objects`` is hashed as canonical JSON).
_HASHED = COLUMNS


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
    for col in _HASHED:
        h.update(col.encode())
        h.update("\x1f".join(_text(v) for v in frame[col]).encode())
    return h.hexdigest()[:16]


def _text(v: Any) -> str:
    """A cell as stable text (objects as canonical JSON; missing as empty)."""
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, (list, tuple, dict)) or hasattr(v, "tolist"):
        return json.dumps(jsonable(v), sort_keys=True)
    return str(v)


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
    present = set(ws.samples.schema().names)
    frame = rows_for(ws, ids.tolist(), [c for c in COLUMNS[1:] if c in present
                                        and c != "weight"])
    for col in COLUMNS:
        if col not in frame and col != "weight":
            frame[col] = None
    frame["weight"] = w.to_numpy()
    frame = frame.sort_values("sample_id", kind="stable").reset_index(drop=True)[list(COLUMNS)]
    config = jsonable(config or {})
    digest = _digest(frame, config)
    marker = ws.marker()
    header = {"name": name, "hash": digest, "config": config, "rows": len(frame),
              "workspace": {"id": marker.workspace_id, "format": marker.version,
                            "samples": ws.samples.count()},
              "curator_version": __version__}
    path = ws.root / "manifests" / f"{name}-{digest}.parquet"
    if path.is_file():  # the same curation again: that file, made the newest of its name
        os.utime(path)
        return read_manifest(path)
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
    try:
        header = json.loads(meta)
    except ValueError:
        raise ManifestError(f"manifest {path} has a corrupt header") from None
    if not isinstance(header, dict) or "hash" not in header:
        raise ManifestError(f"manifest {path} has a corrupt header (no hash)")
    missing = [c for c in COLUMNS if c not in table.column_names]
    if missing:
        raise ManifestError(f"manifest {path} lacks column(s) {missing}: written by an older "
                            "curator; create it again from its subset")
    frame = table.to_pandas()
    if _digest(frame, header.get("config", {})) != header.get("hash"):
        raise ManifestError(f"manifest {path} does not match its hash: it was changed")
    return Manifest(path, header, frame)


def list_manifests(ws: Workspace) -> list[Path]:
    """The workspace's manifest files, by name."""
    folder = ws.root / "manifests"
    return sorted(folder.glob("*.parquet")) if folder.is_dir() else []


def find_manifest(ws: Workspace, ref: str | Path) -> Path:
    """A manifest by file path, file name under ``manifests/``, or name (the newest of
    that name)."""
    path = Path(ref)
    if path.suffix == ".parquet" and path.is_file():
        return path
    folder = ws.root / "manifests"
    if (folder / str(ref)).is_file():
        return folder / str(ref)
    named = [p for p in list_manifests(ws) if p.name.rsplit("-", 1)[0] == str(ref)]
    if not named:
        known = sorted({p.name.rsplit("-", 1)[0] for p in list_manifests(ws)})
        raise ManifestError(f"no manifest {str(ref)!r} in {folder}; known: "
                            f"{', '.join(known) or 'none'}")
    return max(named, key=lambda p: (p.stat().st_mtime_ns, p.name))


def diff_manifests(a: Manifest, b: Manifest) -> dict[str, Any]:
    """What changed from ``a`` to ``b``: samples added and removed, and for the samples in
    both, changed labels, splits and weights; and the config keys that differ."""
    fa = a.frame.set_index("sample_id")
    fb = b.frame.set_index("sample_id")
    both = fa.index.intersection(fb.index)
    changed = {}
    for col in ("label", "split", "weight", "source"):
        x, y = fa.loc[both, col], fb.loc[both, col]
        diff = both[(x.astype(str) != y.astype(str)).to_numpy()]
        changed[col] = [{"sample_id": i, "from": _plain(x[i]), "to": _plain(y[i])}
                        for i in diff]
    ca, cb = _flat(a.header.get("config", {})), _flat(b.header.get("config", {}))
    config = {k: {"from": ca.get(k), "to": cb.get(k)} for k in sorted(set(ca) | set(cb))
              if ca.get(k) != cb.get(k)}
    return {"a": {"name": a.header["name"], "hash": a.hash, "rows": len(fa)},
            "b": {"name": b.header["name"], "hash": b.hash, "rows": len(fb)},
            "same": a.hash == b.hash,
            "added": sorted(fb.index.difference(fa.index).tolist()),
            "removed": sorted(fa.index.difference(fb.index).tolist()),
            "changed": changed, "config": config}


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def _flat(config: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(config, dict):
        out: dict[str, Any] = {}
        for k, v in config.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): json.dumps(config, sort_keys=True)}


def manifest_from_subset(ws: Workspace, subset: str, *, name: str | None = None) -> Manifest:
    """Freeze saved subset ``subset`` (its ids and weights, if it has any) as a manifest."""
    from curator.subsets import load_subset

    sub = load_subset(ws, subset)
    weights = sub.frame["weight"] if "weight" in sub.frame else None
    return write_manifest(ws, name or subset, sub.ids, weights=weights,
                          config={"subset": subset, "subset_meta": sub.meta})
