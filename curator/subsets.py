"""Named subsets: selections saved in ``subsets/<name>.parquet``, and the rows they need.

A subset file holds the selection's rows (``sample_id``, ``distance``, ``reason``, ...) and,
in its Parquet metadata, the method, parameters, embedding and summary that made it. Files
are written atomically and never overwritten by accident.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curator.errors import CuratorError
from curator.fileio import atomic_write_bytes
from curator.results import ResultMixin
from curator.select import Selection
from curator.store import Workspace
from curator.version import __version__

SUBSETS_DIR = "subsets"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
_META_KEY = b"curator.subset"


class SubsetError(CuratorError):
    """A named subset is missing, exists already, or has a bad name."""


def check_subset_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise SubsetError(f"subset name {name!r} is not allowed: use up to 100 lowercase "
                          "letters, digits, '_', '-' or '.', e.g. 'mix-1to1'")
    return name


def subset_path(ws: Workspace, name: str):
    return ws.root / SUBSETS_DIR / f"{check_subset_name(name)}.parquet"


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda v: v.item() if isinstance(
        v, np.generic) else str(v)))


def save_subset(ws: Workspace, name: str, selection: Selection, *, overwrite: bool = False,
                extra: dict[str, Any] | None = None) -> str:
    """Write ``selection`` as subset ``name``; refuses to replace one unless ``overwrite``."""
    path = subset_path(ws, name)
    if path.exists() and not overwrite:
        raise SubsetError(f"subset {name!r} exists already ({path}); choose another name or "
                          "pass --force to replace it")
    unknown = set(selection.frame["sample_id"]) - ws_ids_subset(ws, selection.ids)
    if unknown:
        raise SubsetError(f"{len(unknown)} selected id(s) are not samples of {ws.root}, e.g. "
                          f"{sorted(unknown)[0]}")
    meta = {
        "name": name, "method": selection.method, "params": _jsonable(selection.params),
        "stats": _jsonable(selection.stats),
        "summary": _jsonable(selection.summary.to_dict(orient="records"))
        if selection.summary is not None else None,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "created_by": f"curator {__version__}", **_jsonable(extra or {}),
    }
    table = pa.Table.from_pandas(selection.frame.reset_index(drop=True), preserve_index=False)
    table = table.replace_schema_metadata({_META_KEY: json.dumps(meta).encode()})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buf.getvalue())
    return str(path)


def ws_ids_subset(ws: Workspace, ids: Sequence[str]) -> set[str]:
    """Those of ``ids`` that are samples of ``ws`` (reads only the id column)."""
    wanted = pa.array(list(ids), pa.string())
    found: set[str] = set()
    for batch in ws.iter_batches(["sample_id"], batch_size=262_144):
        col = batch.column(0)
        found.update(col.filter(pc.is_in(col, value_set=wanted)).to_pylist())
    return found


@dataclass(frozen=True)
class Subset(ResultMixin):
    """A saved subset: its rows and the metadata that made it."""

    name: str
    frame: pd.DataFrame
    meta: dict[str, Any]

    @property
    def ids(self) -> list[str]:
        return self.frame["sample_id"].tolist()

    def to_frame(self) -> pd.DataFrame:
        return self.frame

    def result_title(self) -> str:
        return f"subset {self.name} ({self.meta.get('method')}, {len(self.frame):,} samples)"

    def to_html(self, max_rows: int = 20) -> str:
        return f"<h4>{html.escape(self.result_title())}</h4>" + self.frame.head(
            max_rows).to_html(escape=True, index=False)


def load_subset(ws: Workspace, name: str) -> Subset:
    path = subset_path(ws, name)
    if not path.is_file():
        raise SubsetError(f"no subset named {name!r} in {ws.root} (have: "
                          f"{', '.join(list_subsets(ws)) or 'none'})")
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise SubsetError(f"subset file {path} is damaged ({exc})") from None
    raw = (table.schema.metadata or {}).get(_META_KEY, b"{}")
    return Subset(name, table.to_pandas(), json.loads(raw))


def list_subsets(ws: Workspace) -> list[str]:
    folder = ws.root / SUBSETS_DIR
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.parquet") if _NAME.match(p.stem))


def rows_for(ws: Workspace, ids: Sequence[str], columns: Sequence[str]) -> pd.DataFrame:
    """Sample ``columns`` for ``ids``, in the order of ``ids`` (reads only those columns)."""
    cols = ["sample_id", *[c for c in columns if c != "sample_id"]]
    table = ws.to_table(cols, pc.field("sample_id").isin(pa.array(list(ids), pa.string())))
    frame = table.to_pandas().drop_duplicates("sample_id").set_index("sample_id")
    missing = [i for i in ids if i not in frame.index]
    if missing:
        raise SubsetError(f"{len(missing)} id(s) are not samples of {ws.root}, e.g. "
                          f"{missing[0]}")
    return frame.loc[list(ids)].reset_index()
